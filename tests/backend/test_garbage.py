import gc

from backend import garbage


def test_the_server_freezes_what_it_loaded_and_makes_full_passes_rarer():
    """What `tune` leaves a running server (Daphne calls it once its reactor runs): the loaded
    code out of every pass, and a full pass after 100 of the middle generation."""
    thresholds = gc.get_threshold()
    try:
        garbage.tune()
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (700, 10, 100)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
