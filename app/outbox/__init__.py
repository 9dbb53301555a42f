"""The one outbox: side effects (e-mail, WhatsApp, later SIASN, xAPI, signing) recorded in the
transaction of the fact that causes them and delivered afterwards by a dispatcher with retries."""
