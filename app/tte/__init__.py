"""BSrE TTE: the signing official signs a batch of certificates through the Esign Client Service."""
