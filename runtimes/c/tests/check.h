/* check.h — a minimal test harness for the C unit tests (no dependency).
 *
 *   CHECK(cond)                  fails the current test, printing the condition
 *   CHECK_EQ_I(a, b)             int64 equality
 *   CHECK_NEAR(a, b, rtol, atol) |a - b| <= atol + rtol * |b|, NaN matching NaN
 *   CHECK_STATUS(expr, status)   an API call returns the given enum jag_status
 *   RUN(test_fn)                 runs one test function
 *   return check_summary();      at the end of main: prints "N checks, M failed"
 */
#ifndef JAG_CHECK_H
#define JAG_CHECK_H
#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_count, check_failed;

#define CHECK(cond) do { check_count++; if (!(cond)) { check_failed++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ_I(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); check_count++; \
    if (a_ != b_) { check_failed++; fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
    __FILE__, __LINE__, #a, a_, b_); } } while (0)
#define CHECK_NEAR(a, b, rtol, atol) do { double a_ = (double)(a), b_ = (double)(b); check_count++; \
    if (!((isnan(a_) && isnan(b_)) || (a_ == b_) || fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_))) { \
    check_failed++; fprintf(stderr, "%s:%d: %s == %.17g, expected %.17g\n", __FILE__, __LINE__, #a, a_, b_); } } while (0)
#define CHECK_STATUS(expr, st) do { int s_ = (int)(expr); check_count++; if (s_ != (int)(st)) { \
    check_failed++; fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #expr, \
    jag_status_to_string((enum jag_status)s_), jag_status_to_string(st)); } } while (0)
#define RUN(fn) do { int before_ = check_failed; fn(); \
    if (check_failed != before_) fprintf(stderr, "FAILED %s\n", #fn); } while (0)

static int check_summary(void)
{
    printf("%d checks, %d failed\n", check_count, check_failed);
    return check_failed ? 1 : 0;
}
#endif
