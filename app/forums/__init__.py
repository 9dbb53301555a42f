"""Discussion forums of runs and courses: threads, replies, moderation, subscriptions."""
