"""Courses: courses, sections, activities, content files, SCORM packages, runs (angkatan), enrolment."""
