"""The process: settings, the composition root (`wiring.build`) and the service that runs it."""
