from realtime.close_codes import CloseCode


def test_every_close_code_is_one_an_application_may_send():
    # autobahn (Daphne) raises on any other, and the client sees 1011 instead.
    assert all(code == 1000 or 3000 <= code <= 4999 for code in CloseCode)
