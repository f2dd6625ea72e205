"""The harness's own judgement of sanitizer logs (harness.no_finding): a
log is a finding unless it holds only LeakSanitizer's notes that it could
not stop a thread. Run one with: python3 test_harness.py NAME."""
import os

from harness import (Failure, check, no_finding, run, sanitizer_fail,
                     sanitizer_reports)

ERROR = ("=================================================================\n"
         "==4711==ERROR: LeakSanitizer: detected memory leaks\n\n"
         "Direct leak of 32 byte(s) in 1 object(s) allocated from:\n"
         "    #0 0x7f0 in malloc\n")


def sanitizer_log_judged(env):
    """Thread-stop notes alone are no finding; anything else is one."""
    regs = "==5991==Unable to get registers from thread 5987.\n"
    running = ("==5991==Running thread 5987 was not suspended. False leaks "
               "are possible.\n")
    # As written with log_exe_name=1 (what the ASan build sets).
    named = ("==authd-keyring==9412==Running thread 9406 was not suspended. "
             "False leaks are possible.\n"
             "==authd-keyring==9412==Unable to get registers from thread "
             "9403.\n")
    for text in (regs, running, regs + running, running + "\n" + running,
                 named):
        check(no_finding(text), "a finding in %r" % text)
    for text in ("", "\n", ERROR, running + ERROR, regs + ERROR,
                 running.replace("not suspended", "suspended"),
                 "==1==ERROR: AddressSanitizer: heap-use-after-free\n",
                 "authd.c:12:3: runtime error: null pointer passed\n",
                 running + "SUMMARY: LeakSanitizer: 32 byte(s) leaked\n",
                 named + "==authd-keyring==9412==ERROR: LeakSanitizer: "
                 "detected memory leaks\n",
                 "==a b==1==Unable to get registers from thread 2.\n"):
        check(not no_finding(text), "no finding in %r" % text)


def sanitizer_reported_once(env):
    """The first test to find a log fails on it; later ones do not, and
    the log is kept (NAME.reported). Notes alone are never reported."""
    d = os.path.join(env.dir, "sanlogs")
    os.mkdir(d)
    bad, notes = os.path.join(d, "asan.authd.7"), os.path.join(d, "asan.x.8")
    with open(bad, "w") as f:
        f.write(ERROR)
    with open(notes, "w") as f:
        f.write("==x==8==Unable to get registers from thread 9.\n")
    old = os.environ.get("AUTHD_SANITIZER_LOG_DIR")
    os.environ["AUTHD_SANITIZER_LOG_DIR"] = d
    try:
        reports = sanitizer_reports()
        check(reports == [bad], "reports %r" % reports)
        try:
            sanitizer_fail(reports)
            check(False, "sanitizer_fail did not fail")
        except Failure as e:
            check("detected memory leaks" in str(e), "message %r" % str(e))
        check(sanitizer_reports() == [], "reported twice")
        check(os.path.exists(bad + ".reported"), "the log was not kept")
    finally:
        if old is None:
            del os.environ["AUTHD_SANITIZER_LOG_DIR"]
        else:
            os.environ["AUTHD_SANITIZER_LOG_DIR"] = old


TESTS = {f.__name__: f for f in (sanitizer_log_judged,
                                 sanitizer_reported_once)}

if __name__ == "__main__":
    run(TESTS)
