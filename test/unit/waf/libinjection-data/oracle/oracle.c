/*
 * Reference answers for the libinjection tests of Palisade's WAF: reads inputs, one per line,
 * hex-encoded, and prints for each the verdicts of the C libinjection it is linked with:
 *
 *   <sqli fingerprint or -> TAB <xss 0|1> TAB <fingerprint of each of the 5 parsing passes>
 *
 * Build against libinjection/libinjection at bfba51f5af8f1f6cf5d6c4bf862f1e2474e018e3 (the
 * version ModSecurity 3.0.9 bundles), e.g.
 *   cc -O2 -I$LI/src -o oracle oracle.c $LI/src/libinjection_sqli.c $LI/src/libinjection_xss.c $LI/src/libinjection_html5.c
 * Each input gets a NUL after its last byte, as ModSecurity passes std::string::c_str().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libinjection.h"
#include "libinjection_sqli.h"
#include "libinjection_xss.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
}

int main(void)
{
    static char line[1 << 20];
    static const int passes[5] = {
        FLAG_QUOTE_NONE | FLAG_SQL_ANSI, FLAG_QUOTE_NONE | FLAG_SQL_MYSQL,
        FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI, FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL,
        FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL
    };
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\r\n");
        size_t len = n / 2;
        char *input = malloc(len + 1);
        char fingerprint[8];
        struct libinjection_sqli_state state;
        int k;
        size_t i;
        for (i = 0; i < len; i++) input[i] = (char)(hexval(line[2 * i]) * 16 + hexval(line[2 * i + 1]));
        input[len] = '\0';
        printf("%s\t%d\t", libinjection_sqli(input, len, fingerprint) ? fingerprint : "-", libinjection_xss(input, len));
        for (k = 0; k < 5; k++) {
            libinjection_sqli_init(&state, input, len, passes[k]);
            libinjection_sqli_fingerprint(&state, passes[k]);
            printf("%s%s", k ? " " : "", state.fingerprint[0] ? state.fingerprint : "_");
        }
        printf("\n");
        free(input);
    }
    return 0;
}
