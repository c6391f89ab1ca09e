"""The data path: intake (decode), the pipeline and its stage order, the clinicians' action path,
and detection recovery."""
