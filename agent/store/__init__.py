"""The mocked backends: typed Magento and Gorgias records, the in-memory store and helpdesk, fault injection,
fixture loading, and the world (one conversation's private copy of all of it, plus its tool-call trace)."""
