"""SIASN (BKN) push: every JP source (certificate, mentoring, verified external training) becomes
a riwayat kursus/diklat in SIASN with its certificate PDF, through a sync table and a job."""
