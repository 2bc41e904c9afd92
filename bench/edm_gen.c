/*
 * edm_gen.c - writes a deterministic, fictional customer table for the EDM
 * benchmark (bench/edm.sh): `edm_gen ROWS > customers.csv`.
 *
 * Columns: id,name,email,phone,card,canary. Every row has three values that
 * pass the sensor's validators and are distinct from every other row's:
 *   email  user<row>@example.com (RFC 2606 reserved domain);
 *   phone  "(NPA) 555-XXXX": the 555 exchange, NPA taken in order from the
 *          area codes the NANP validator accepts, 10,000 lines per NPA;
 *   card   a 16-digit "4..." number (the Visa test range shape) made from the
 *          row number and completed with its Luhn check digit.
 * One row in 100,000 is marked a canary. The same ROWS always gives the same
 * bytes, so figures from two runs describe the same input. No randomness, no
 * dependency: plain C so the benchmark needs nothing but the build.
 */
#include <stdio.h>
#include <stdlib.h>

#include "luhn.h"

/* The NANP validator's area-code rules: [2-9][0-8][0-9], not N11, not 37X,
 * not 96X, not 555. */
static int npa_ok(int n)
{
    int a = n / 100, b = n / 10 % 10, c = n % 10;

    if (a < 2 || b > 8)
        return 0;
    if (b == 1 && c == 1)
        return 0;
    if (n / 10 == 37 || n / 10 == 96 || n == 555)
        return 0;
    return 1;
}

int main(int argc, char **argv)
{
    static int npas[800];
    static char obuf[1 << 20];
    long rows;
    int nnpa = 0;
    char *end;

    if (argc != 2 || (rows = strtol(argv[1], &end, 10)) <= 0 || *end != '\0') {
        fprintf(stderr, "usage: edm_gen ROWS > customers.csv\n");
        return 2;
    }
    for (int n = 200; n <= 999; n++)
        if (npa_ok(n))
            npas[nnpa++] = n;
    if (rows > (long)nnpa * 10000) {
        fprintf(stderr, "edm_gen: at most %ld rows\n", (long)nnpa * 10000);
        return 2;
    }
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    printf("id,name,email,phone,card,canary\r\n");
    for (long r = 0; r < rows; r++) {
        char card[17];
        snprintf(card, sizeof(card), "4%014ld", 31337000000L + r * 7919L % 100000000000000L);
        card[15] = (char)('0' + luhn_digit(card, 15));
        card[16] = '\0';
        printf("%ld,\"Customer %ld, Jr.\",user%ld@example.com,(%d) 555-%04ld,%.4s %.4s %.4s "
               "%.4s,%s\r\n",
               r + 1, r + 1, r, npas[r / 10000], r % 10000, card, card + 4, card + 8, card + 12,
               r % 100000 == 99999 ? "yes" : "");
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
