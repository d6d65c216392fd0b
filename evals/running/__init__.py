"""Running evals: the run config, planning, the driver and the batch runner, playing one conversation, limits,
pricing and the Ray executor. The service layer above (`evals.service`) is what the CLI and the pages call."""
