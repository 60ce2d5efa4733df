"""Generated protobuf and gRPC code for creditx.v1 (do not edit; run proto/generate.py)."""
