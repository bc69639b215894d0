/* rt-keygen: writes a CURVE key pair as CZMQ zcert files, for rt-router's
 * --curve-secret-key (FILE_secret) and --curve-allow (a directory holding FILE).
 *
 *     rt-keygen FILE    ->  FILE (public certificate) and FILE_secret (secret certificate)
 */
#include <czmq.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: rt-keygen FILE\n"
                "Writes a new CURVE key pair: FILE (zcert public certificate, for the\n"
                "--curve-allow directory of the nodes and routers that accept it) and\n"
                "FILE_secret (zcert secret certificate, for --curve-secret-key).\n"
                "Prints the public key (Z85) on stdout.\n");
        return argc == 2 ? 0 : 2;
    }
    zcert_t *cert = zcert_new();
    if (!cert || zcert_save(cert, argv[1]) != 0) {
        fprintf(stderr, "rt-keygen: cannot write %s and %s_secret\n", argv[1], argv[1]);
        zcert_destroy(&cert);
        return 1;
    }
    printf("%s\n", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}
