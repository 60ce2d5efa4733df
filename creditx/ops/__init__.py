"""Operations plumbing shared by the gateway and the node (reflection, plain health port,
structured logs, process metrics). Depends on nothing else in creditx, so both roles can use
it without importing each other."""
