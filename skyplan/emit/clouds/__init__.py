"""One emitter module per target cloud; importing this package registers them all."""

from skyplan.emit.clouds import aws, azure, gcp, local

__all__ = ["aws", "azure", "gcp", "local"]
