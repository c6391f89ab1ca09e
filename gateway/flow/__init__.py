"""The data path: intake (decode), the pipeline and its stage order, lanes, the clinicians' action
path, and detection recovery."""
