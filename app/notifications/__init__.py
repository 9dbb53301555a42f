"""Telling people what matters to them: events become in-app notifications and e-mail and
WhatsApp messages (through the outbox), in the reader's language, on the channels they allow."""
