"""How far the reader and the judge can be trusted: accuracy and agreement on the labelled sets, and the
`read`/`calibrate` commands."""
