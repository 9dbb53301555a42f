"""Background work: the job queue (huey) every domain uses, and the schedule of periodic jobs
(reminders, digests, housekeeping) with the record of each run."""
