/*
 * luhn.h - the Luhn check digit, for the bench generators (gen_traffic,
 * edm_gen), which invent card numbers that must validate. Header-only: the
 * generators are standalone programs that do not link the sensor.
 */
#ifndef LEAKWATCH_BENCH_LUHN_H
#define LEAKWATCH_BENCH_LUHN_H

/* The digit that makes d[0 .. n) followed by it pass Luhn. Digits are taken
 * from the right of the full number, check digit excluded: the rightmost of
 * d is doubled. */
static inline int luhn_digit(const char *d, int n)
{
    int sum = 0;
    for (int i = n - 1, dbl = 1; i >= 0; i--, dbl = !dbl) {
        int v = d[i] - '0';
        if (dbl) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return (10 - sum % 10) % 10;
}

#endif
