"""What every helper model call shares: the structured-output call and the response cache."""
