"""Running evals: the run config, records and manifest, the batch runner, the response cache, and the service
layer (`service.run_eval`, `service.run_ab`) that the CLI and the app's pages share."""
