"""Development data: the demo accounts and the synthetic regency generator (`lms dev seed`)."""
