// fleetopt: the fused evaluation kernel. One thread simulates one (plan, scenario) pair through
// every quarter, keeping its state (cash, term-loan balances, revolver, contract status) in
// registers. It implements the same quarter as fleetopt/evaluate/simulate.py (the oracle it is
// tested against), in the same order of operations. Money is double precision throughout.
//
// The same source compiles three ways: by NVRTC through CuPy (RawKernel), by nvcc, and as plain
// C (gcc/clang) for the CPU tests that check it against the NumPy code on machines with no GPU.

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define FO_KERNEL extern "C" __global__
#define FO_DEVICE __device__ static inline
#else
#include <math.h>
#define FO_KERNEL
#define FO_DEVICE static inline
#endif

#define FO_MAX_SITES 32
#define FO_MAX_CONTRACTS 64
#define FO_MAX_FACILITIES 16
#define FO_REL 1e-9
#define FO_DEFAULT_TOLERANCE_USD 1.0
#define FO_COVENANT_TOLERANCE_USD 1.0

FO_DEVICE double fo_min(double a, double b) { return a < b ? a : b; }
FO_DEVICE double fo_max(double a, double b) { return a > b ? a : b; }
FO_DEVICE double fo_clip(double x, double lo, double hi) { return fo_min(fo_max(x, lo), hi); }

FO_DEVICE void fo_pair(
    long long idx, int S, int T, int I, int K, int F, int B,
    // plans: leading axis P
    const double* mrev, const double* msup, const double* mgpu, const double* cgpu,
    const double* accepted, const double* drawn, const double* online_plan, const double* elec,
    const double* site_fixed, const double* other_opex, const double* depreciation,
    const double* book, const double* proceeds, const double* capex, const double* draws,
    const double* prepay, const double* sched, const double* inv_held,
    const double* terminal_fleet, const double* terminal_power, const int* build_site,
    const int* build_start, const int* build_online, const double* build_mw,
    // scenarios: time-major, last axis S (consecutive threads read consecutive scenarios)
    const double* price, const double* demand, const double* alive, const int* delay,
    const double* shift, const double* efac, const double* rfac,
    // model constants
    const double* discount, const double* fixed_cost_per_mw, const double* contract_revenue_per_gpu,
    const int* contract_deadline, const double* contract_penalty, const double* rate_q,
    const double* floating, const double* opening_balance, int covenant_from, int has_leverage,
    double max_debt_to_ebitda, double min_dscr, double min_liquidity, double min_liquidity_fraction,
    double opening_cash, double min_cash_floor, double tax_rate, double revolver_limit,
    double revolver_rate_q,
    // outputs: (P, S)
    double* out_npv, double* out_min_cash, double* out_breach, double* out_default, double* out_util)
{
    const long long p = idx / S;
    const long long s = idx % S;
    double balance[FO_MAX_FACILITIES];
    double status[FO_MAX_CONTRACTS];
    double phi[FO_MAX_SITES];
    double late[FO_MAX_SITES];
    for (int f = 0; f < F; ++f) balance[f] = opening_balance[f];
    for (int k = 0; k < K; ++k) status[k] = accepted[p * K + k];
    double cash = opening_cash, prev_cash = opening_cash, revolver = 0.0;
    double npv = 0.0, min_cash = 1.0e308, util = 0.0;  // above any cash: the first quarter sets it
    int breach = 0, in_default = 0;

    for (int t = 0; t < T; ++t) {
        // power: late block groups, then the share phi_i of each site's planned draw it can carry
        double fixed_saved = 0.0;
        for (int i = 0; i < I; ++i) late[i] = 0.0;
        for (int b = 0; b < B; ++b) {
            const long long pb = p * B + b;
            const int site = build_site[pb];
            const int from = build_online[pb];
            const int until = from + delay[((long long)site * T + build_start[pb]) * S + s];
            if (from <= t && t < until) late[site] += build_mw[pb];
        }
        for (int i = 0; i < I; ++i) {
            fixed_saved += fixed_cost_per_mw[i] * late[i];
            const double online = online_plan[(p * I + i) * T + t] - late[i];
            const double d = drawn[(p * I + i) * T + t];
            const int short_ = d > online * (1.0 + FO_REL) + FO_REL;
            phi[i] = short_ ? fo_clip(online / (d > 0 ? d : 1.0), 0.0, 1.0) : 1.0;
        }

        // contracts: delivered GPUs, cancellation after the deadline, customer default
        double contract_revenue = 0.0, penalty = 0.0, delivered_gpus = 0.0;
        for (int k = 0; k < K; ++k) {
            const double* c = cgpu + (p * K + k) * (long long)I * T;
            double delivered = c[t] * phi[0];
            double planned = c[t];
            for (int i = 1; i < I; ++i) {
                delivered = delivered + c[i * T + t] * phi[i];
                planned = planned + c[i * T + t];
            }
            int ended = alive[((long long)k * T + t) * S + s] <= 0.0;
            if (t >= contract_deadline[k]) {
                const int undelivered = delivered < planned * (1.0 - FO_REL) - FO_REL;
                if (undelivered && status[k] > 0.0) penalty += contract_penalty[k];
                ended = ended || undelivered;
            }
            if (ended) status[k] = 0.0;
            const double served = delivered * status[k];
            contract_revenue += contract_revenue_per_gpu[k] * served;
            delivered_gpus += served;
        }

        // market: planned sales scaled by power, capped by realised demand, at scenario prices
        double market_revenue = 0.0, sold_gpus = 0.0;
        for (int u = 0; u < 2; ++u) {
            const double* su = msup + ((p * 2 + u) * (long long)I) * T;
            const double* gu = mgpu + ((p * 2 + u) * (long long)I) * T;
            double supply = su[t] * phi[0];
            double gpus = gu[t] * phi[0];
            for (int i = 1; i < I; ++i) {
                supply = supply + su[i * T + t] * phi[i];
                gpus = gpus + gu[i * T + t] * phi[i];
            }
            double revenue = 0.0;
            for (int g = 0; g < 3; ++g) {
                const double* r = mrev + (((p * 2 + u) * 3 + g) * (long long)I) * T;
                double base = r[t] * phi[0];
                for (int i = 1; i < I; ++i) base = base + r[i * T + t] * phi[i];
                revenue = revenue + base * price[((long long)g * T + t) * S + s];
            }
            const double cap = demand[((long long)u * T + t) * S + s];
            const double scale = supply > cap ? cap / (supply > 0 ? supply : 1.0) : 1.0;
            market_revenue = market_revenue + revenue * scale;
            sold_gpus = sold_gpus + gpus * scale;
        }

        double electricity = elec[(p * I) * T + t] * phi[0];
        for (int i = 1; i < I; ++i) electricity = electricity + elec[(p * I + i) * T + t] * phi[i];
        electricity = electricity * efac[(long long)t * S + s];
        const double fixed_costs = site_fixed[p * T + t] + other_opex[p * T + t];
        const double ebitda = market_revenue + contract_revenue - electricity - (fixed_costs - fixed_saved) - penalty;
        const double cash_proceeds = proceeds[p * T + t] * rfac[(long long)t * S + s];
        const double gain = cash_proceeds - book[p * T + t];
        const double investing = capex[p * T + t] - cash_proceeds;

        // financing: the same steps as fleetopt.economics.finance_step
        double forecast_interest = 0.0, floating_balance = 0.0;
        for (int f = 0; f < F; ++f) {
            forecast_interest += rate_q[f * T + t] * balance[f];
            floating_balance += floating[f] * balance[f];
        }
        const double interest = forecast_interest + (shift[(long long)t * S + s] / 4.0) * floating_balance + revolver_rate_q * revolver;
        double principal_total = 0.0, pay_total = 0.0, draws_total = 0.0, debt = 0.0;
        for (int f = 0; f < F; ++f) {
            const long long pft = (p * F + f) * (long long)T + t;
            const double available = balance[f] + draws[pft];
            const double principal = fo_min(sched[pft], available);
            const double pay_early = fo_min(prepay[pft], available - principal);
            balance[f] = available - principal - pay_early;
            principal_total += principal;
            pay_total += pay_early;
            draws_total += draws[pft];
        }
        const double ebt = ebitda - interest - (depreciation[p * T + t] - gain);
        const double tax = tax_rate * fo_max(ebt, 0.0);
        const double other_outflow = investing + (principal_total + pay_total - draws_total);
        cash = cash + ebitda - tax - interest - other_outflow;
        const double rev_draw = fo_clip(min_cash_floor - cash, -revolver, revolver_limit - revolver);
        revolver = revolver + rev_draw;
        cash = cash + rev_draw;
        for (int f = 0; f < F; ++f) debt += balance[f];
        debt += revolver;

        npv = npv + discount[t] * (cash - prev_cash);
        prev_cash = cash;
        min_cash = fo_min(min_cash, cash);
        if (cash < min_cash_floor - FO_DEFAULT_TOLERANCE_USD) in_default = 1;
        if (t >= covenant_from) {
            const double service = interest + principal_total;
            const double tol = FO_COVENANT_TOLERANCE_USD;
            if (has_leverage && debt > max_debt_to_ebitda * 4.0 * ebitda + tol && debt > 0) breach = 1;
            if (min_dscr > 0 && ebitda < min_dscr * service - tol && service > 0) breach = 1;
            if (min_liquidity > 0 && cash < min_liquidity - tol) breach = 1;
            if (min_liquidity_fraction > 0 && cash < min_liquidity_fraction * debt - tol) breach = 1;
        }
        util = util + (sold_gpus + delivered_gpus) * inv_held[p * T + t];
    }
    double debt_end = 0.0;
    for (int f = 0; f < F; ++f) debt_end += balance[f];
    debt_end += revolver;
    const double terminal = terminal_fleet[p] * rfac[(long long)(T - 1) * S + s] + terminal_power[p];
    npv = npv + discount[T - 1] * (terminal - debt_end);
    out_npv[idx] = npv;
    out_min_cash[idx] = min_cash;
    out_breach[idx] = breach;
    out_default[idx] = in_default;
    out_util[idx] = util / T;
}

FO_KERNEL void fleetopt_evaluate(
    long long n_pairs, int S, int T, int I, int K, int F, int B,
    const double* mrev, const double* msup, const double* mgpu, const double* cgpu,
    const double* accepted, const double* drawn, const double* online_plan, const double* elec,
    const double* site_fixed, const double* other_opex, const double* depreciation,
    const double* book, const double* proceeds, const double* capex, const double* draws,
    const double* prepay, const double* sched, const double* inv_held,
    const double* terminal_fleet, const double* terminal_power, const int* build_site,
    const int* build_start, const int* build_online, const double* build_mw,
    const double* price, const double* demand, const double* alive, const int* delay,
    const double* shift, const double* efac, const double* rfac,
    const double* discount, const double* fixed_cost_per_mw, const double* contract_revenue_per_gpu,
    const int* contract_deadline, const double* contract_penalty, const double* rate_q,
    const double* floating, const double* opening_balance, int covenant_from, int has_leverage,
    double max_debt_to_ebitda, double min_dscr, double min_liquidity, double min_liquidity_fraction,
    double opening_cash, double min_cash_floor, double tax_rate, double revolver_limit,
    double revolver_rate_q,
    double* out_npv, double* out_min_cash, double* out_breach, double* out_default, double* out_util)
{
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
    const long long first = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    const long long stride = (long long)gridDim.x * blockDim.x;
#else
    const long long first = 0, stride = 1;
#endif
    for (long long idx = first; idx < n_pairs; idx += stride) {
        fo_pair(idx, S, T, I, K, F, B, mrev, msup, mgpu, cgpu, accepted, drawn, online_plan, elec,
                site_fixed, other_opex, depreciation, book, proceeds, capex, draws, prepay, sched,
                inv_held, terminal_fleet, terminal_power, build_site, build_start, build_online,
                build_mw, price, demand, alive, delay, shift, efac, rfac, discount, fixed_cost_per_mw,
                contract_revenue_per_gpu, contract_deadline, contract_penalty, rate_q, floating,
                opening_balance, covenant_from, has_leverage, max_debt_to_ebitda, min_dscr,
                min_liquidity, min_liquidity_fraction, opening_cash, min_cash_floor, tax_rate,
                revolver_limit, revolver_rate_q, out_npv, out_min_cash, out_breach, out_default, out_util);
    }
}
