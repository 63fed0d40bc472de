"""Emission: a plan becomes Terraform root modules per cloud plus the job-runner manifest."""
