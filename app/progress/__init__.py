"""Progress: what each enrolled learner did in each activity (video position, views, SCORM data)."""
