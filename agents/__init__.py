"""Built-in agents: DeepAnalyze (analytics), VideoGen (video), SE-Darwin (self-improvement)."""
