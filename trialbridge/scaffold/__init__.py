"""`trialbridge init`: a draft study folder from raw exports (profiles, guesses, YAML)."""
