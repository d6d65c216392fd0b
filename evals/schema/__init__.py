"""The stored formats, at the bottom of `evals/`: a persona's contract, a reading of an agent reply, a judge's
verdicts, one conversation's record (`results.jsonl`) and a run's manifest (`run.json`). Nothing here imports another
`evals` package."""
