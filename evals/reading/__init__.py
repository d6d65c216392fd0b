"""Reading agent replies: what a customer (and a scorer) takes from one reply. One interface, two readers."""
