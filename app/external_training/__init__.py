"""Training taken elsewhere (province, ministries, LAN): recorded, verified, credited in JP."""
