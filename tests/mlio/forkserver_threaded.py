"""A child module whose warm imports start a thread: the fork server must step aside rather than fork."""

WARM_IMPORTS = ("tests.mlio.starts_a_thread",)

if __name__ == "__main__":
    print('{"ran": true}')
