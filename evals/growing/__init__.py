"""Growing the persona library: a chat saved as a test customer (and, later, helpdesk tickets and generated
personas)."""
