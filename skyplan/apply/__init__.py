"""apply: real Terraform per cloud, failure classification, re-planning and the job runner."""
