/* config: one table per program drives defaults, RT_* environment variables, flags,
 * validation and --help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

/* The options of a small program, the way rt-gateway declares its own. */
typedef struct {
    char *listen;
    char *router;
    long long max_message;
    long long rate_limit;
    bool verbose;
    int log_level;
} opts_t;

static const cfg_option_t table[] = {
    {"listen", CFG_STR, "0.0.0.0:8080", 0, 0, offsetof(opts_t, listen), "HOST:PORT to listen on",
     cfg_check_listen},
    {"router", CFG_STR, NULL, 0, 0, offsetof(opts_t, router), "router endpoints",
     cfg_check_endpoint_list},
    {"max-message", CFG_SIZE, "64K", 1024, 16 << 20, offsetof(opts_t, max_message),
     "largest client message", NULL},
    {"rate-limit", CFG_INT, "100", 0, 100000, offsetof(opts_t, rate_limit),
     "frames per second (0 = off)", NULL},
    {"verbose", CFG_BOOL, "false", 0, 0, offsetof(opts_t, verbose), "chatty", NULL},
    {"log-level", CFG_LEVEL, "info", 0, 0, offsetof(opts_t, log_level), "error|warn|info|debug",
     NULL},
    CFG_END,
};

/* Runs cfg_parse on a NULL-terminated argument list, capturing stderr / stdout. */
static char captured[8192];

static cfg_result_t parse(opts_t *o, int fd_to_capture, char **args)
{
    int argc = 0;
    char *argv[32] = {"prog"};
    while (args && args[argc]) {
        argv[argc + 1] = args[argc];
        argc++;
    }
    argc++;
    fflush(stdout);
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(fd_to_capture);
    dup2(fileno(tmp), fd_to_capture);
    memset(o, 0, sizeof *o);
    cfg_result_t r = cfg_parse(table, o, argc, argv, "prog", "A test program.");
    fflush(stdout);
    fflush(stderr);
    dup2(saved, fd_to_capture);
    close(saved);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof captured - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    return r;
}

static int teardown(void **state)
{
    unsetenv("RT_MAX_MESSAGE");
    unsetenv("RT_RATE_LIMIT");
    unsetenv("RT_LISTEN");
    return 0;
}

static void test_defaults(void **state)
{
    opts_t o;
    assert_int_equal(parse(&o, 2, NULL), CFG_OK);
    assert_string_equal(o.listen, "0.0.0.0:8080");
    assert_null(o.router);
    assert_int_equal(o.max_message, 65536);
    assert_int_equal(o.rate_limit, 100);
    assert_false(o.verbose);
    assert_int_equal(o.log_level, RT_LOG_INFO);
    assert_string_equal(captured, "");
    cfg_free(table, &o);
    assert_null(o.listen);
    cfg_free(table, &o); /* safe twice */
}

static void test_flags_both_forms(void **state)
{
    opts_t o;
    char *args[] = {"--listen",
                    ":9000",
                    "--max-message=1M",
                    "--rate-limit",
                    "0",
                    "--verbose",
                    "--log-level=debug",
                    "--router",
                    "tcp://127.0.0.1:5555,tcp://10.0.0.2:5555",
                    NULL};
    assert_int_equal(parse(&o, 2, args), CFG_OK);
    assert_string_equal(o.listen, ":9000");
    assert_int_equal(o.max_message, 1 << 20);
    assert_int_equal(o.rate_limit, 0);
    assert_true(o.verbose);
    assert_int_equal(o.log_level, RT_LOG_DEBUG);
    assert_string_equal(o.router, "tcp://127.0.0.1:5555,tcp://10.0.0.2:5555");
    cfg_free(table, &o);

    char *args2[] = {"--verbose", "false", "--verbose=yes", "--verbose", "off", NULL};
    assert_int_equal(parse(&o, 2, args2), CFG_OK);
    assert_false(o.verbose); /* the last one wins */
    cfg_free(table, &o);
}

static void test_env_then_flag(void **state)
{
    opts_t o;
    setenv("RT_MAX_MESSAGE", "2M", 1);
    setenv("RT_RATE_LIMIT", "50", 1);
    setenv("RT_LISTEN", "", 1); /* empty counts as unset */
    char *args[] = {"--rate-limit", "7", NULL};
    assert_int_equal(parse(&o, 2, args), CFG_OK);
    assert_int_equal(o.max_message, 2 << 20); /* env over default */
    assert_int_equal(o.rate_limit, 7);        /* flag over env */
    assert_string_equal(o.listen, "0.0.0.0:8080");
    cfg_free(table, &o);

    setenv("RT_RATE_LIMIT", "lots", 1); /* env values are validated like flags */
    assert_int_equal(parse(&o, 2, NULL), CFG_ERROR);
    assert_string_equal(captured, "prog: RT_RATE_LIMIT: not an integer: 'lots'\n");
    cfg_free(table, &o);
}

static void test_errors_name_the_flag(void **state)
{
    opts_t o;
    struct {
        char *args[4];
        const char *line;
    } cases[] = {
        {{"--nope", "1"}, "prog: --nope: unknown option (see --help)\n"},
        {{"--rate-limit"}, "prog: --rate-limit: missing value\n"},
        {{"--rate-limit", "12x"}, "prog: --rate-limit: not an integer: '12x'\n"},
        {{"--rate-limit", "100001"}, "prog: --rate-limit: 100001 is out of bounds [0, 100000]\n"},
        {{"--rate-limit", "99999999999999999999"},
         "prog: --rate-limit: out of range: '99999999999999999999'\n"},
        {{"--max-message", "64Q"},
         "prog: --max-message: not a size (use e.g. 65536, 64K, 1M, 1G): '64Q'\n"},
        {{"--max-message", "1G"}, "prog: --max-message: 1G is out of bounds [1024, 16777216]\n"},
        {{"--log-level", "loud"},
         "prog: --log-level: not a log level (error, warn, info, debug): 'loud'\n"},
        {{"--verbose=maybe"},
         "prog: --verbose: not a boolean (true/false, yes/no, on/off, 1/0): 'maybe'\n"},
        {{"--listen", "8080"}, "prog: --listen: expected HOST:PORT or :PORT\n"},
        {{"--listen", ":70000"}, "prog: --listen: bad port '70000' (1-65535)\n"},
        {{"--router", "udp://x:1"},
         "prog: --router: 'udp://x:1' is not tcp://HOST:PORT, ipc://PATH or inproc://NAME\n"},
        {{"stray"}, "prog: stray: unexpected argument (options are --name value)\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse(&o, 2, cases[i].args), CFG_ERROR);
        assert_string_equal(captured, cases[i].line);
        cfg_free(table, &o);
    }
}

static void test_help(void **state)
{
    opts_t o;
    char *args[] = {"--rate-limit", "bogus", "--help", NULL}; /* --help wins */
    assert_int_equal(parse(&o, 1, args), CFG_HELP);
    assert_non_null(strstr(captured, "Usage: prog"));
    assert_non_null(strstr(captured, "A test program."));
    for (const cfg_option_t *t = table; t->name; t++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", t->name);
        assert_non_null(strstr(captured, flag));
        assert_non_null(strstr(captured, t->help));
    }
    assert_non_null(strstr(captured, "env RT_MAX_MESSAGE, default: 64K"));
    assert_non_null(strstr(captured, "env RT_LOG_LEVEL, default: info"));
    assert_non_null(strstr(captured, "env RT_ROUTER, default: (none)"));
    cfg_free(table, &o);
}

static void test_checks(void **state)
{
    char why[128];
    assert_int_equal(cfg_check_endpoint("tcp://*:5555", why, sizeof why), 0);
    assert_int_equal(cfg_check_endpoint("tcp://[::1]:5555", why, sizeof why), 0);
    assert_int_equal(cfg_check_endpoint("ipc:///tmp/rt.sock", why, sizeof why), 0);
    assert_int_equal(cfg_check_endpoint("inproc://x", why, sizeof why), 0);
    /* A mesh peer may carry its CURVE public key: exactly 40 Z85 characters after '#'. */
    assert_int_equal(cfg_check_endpoint("tcp://n1:9090#rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
                                        why, sizeof why),
                     0);
    assert_int_equal(cfg_check_endpoint("tcp://n1:9090#tooshort", why, sizeof why), -1);
    assert_string_equal(why, "the key after '#' must be 40 Z85 characters");
    assert_int_equal(cfg_check_endpoint("tcp://host", why, sizeof why), -1);
    assert_int_equal(cfg_check_endpoint("tcp://:5555", why, sizeof why), -1);
    assert_int_equal(cfg_check_endpoint("tcp://h:0", why, sizeof why), -1);
    assert_int_equal(cfg_check_endpoint_list("tcp://a:1,ipc://b", why, sizeof why), 0);
    assert_int_equal(cfg_check_endpoint_list("tcp://a:1,", why, sizeof why), -1);
    assert_string_equal(why, "empty entry in the list");
    assert_int_equal(cfg_check_endpoint_list("", why, sizeof why), -1);
    assert_int_equal(cfg_check_listen("127.0.0.1:8080", why, sizeof why), 0);
    assert_int_equal(cfg_check_listen(":8080", why, sizeof why), 0);
    assert_int_equal(cfg_check_listen("localhost:", why, sizeof why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_flags_both_forms, teardown),
        cmocka_unit_test_teardown(test_env_then_flag, teardown),
        cmocka_unit_test_teardown(test_errors_name_the_flag, teardown),
        cmocka_unit_test_teardown(test_help, teardown),
        cmocka_unit_test(test_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
