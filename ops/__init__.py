"""Operations tooling: configuration rendering, process supervision, quality gates, benchmarks."""
