/* rt-signaling: parse the configuration, start the webrtc:* service, run it until
 * SIGINT/SIGTERM. */
#include "log.h"
#include "options.h"
#include "signaling.h"

int main(int argc, char **argv)
{
    sig_opts_t opts = {0};
    rt_log_set_name("rt-signaling");
    cfg_result_t res = cfg_parse(options_signaling(), &opts, argc, argv, "rt-signaling",
                                 "WebRTC signaling (webrtc:*) as a service of rt-router");
    if (res != CFG_OK || options_signaling_check(&opts, "rt-signaling") != 0) {
        cfg_free(options_signaling(), &opts);
        return res == CFG_HELP ? 0 : 2;
    }
    rt_log_set_level((rt_log_level_t)opts.log_level);
    signaling_t *sig = signaling_new(&opts);
    cfg_free(options_signaling(), &opts);
    if (!sig)
        return 1;
    int rc = signaling_run(sig);
    signaling_destroy(&sig);
    return rc;
}
