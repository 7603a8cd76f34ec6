"""``python -m denoise_lab [overrides]``: train, checkpoint and evaluate one run (or a sweep with ``-m``)."""

from denoise_lab.training.run import main

if __name__ == "__main__":
    main()
