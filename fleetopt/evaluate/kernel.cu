// fleetopt: the fused evaluation kernel. One thread simulates one (plan, scenario) pair through
// every quarter, keeping its state (cash, term-loan balances, revolver, contract status) in
// registers. It implements the same quarter as fleetopt/evaluate/simulate.py (the oracle it is
// tested against), in the same order of operations. Money is double precision throughout.
//
// The same source compiles three ways: by NVRTC through CuPy (RawKernel), by nvcc, and as plain
// C (gcc/clang) for the CPU tests that check it against the NumPy code on machines with no GPU.
//
// The parameter list is not written here: fleetopt/evaluate/kernel.py generates it from its
// KERNEL_ARGUMENTS (the risk factors from fleetopt/evaluate/factors.py) and prepends it as
// FO_PARAMS (declarations) and FO_ARGS (the names, to pass them on); kernel_source() returns the
// whole compilable source. Every function below takes FO_PARAMS and reads its inputs by name.

#ifndef FO_PARAMS
#error "compile the output of fleetopt.evaluate.kernel.kernel_source(): it defines FO_PARAMS and FO_ARGS"
#endif

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
#define FO_MAX_WINDOW 4

FO_DEVICE double fo_min(double a, double b) { return a < b ? a : b; }
FO_DEVICE double fo_max(double a, double b) { return a > b ? a : b; }
FO_DEVICE double fo_clip(double x, double lo, double hi) { return fo_min(fo_max(x, lo), hi); }

// power: the share phi[i] of each site's planned draw that is powered in quarter t, where the
// block groups still late in this scenario are offline; returns the fixed site cost saved on late MW
FO_DEVICE double fo_power_shares(FO_PARAMS, long long p, long long s, int t, double* phi)
{
    double late[FO_MAX_SITES];
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
    return fixed_saved;
}

// contracts: delivered GPUs, cancellation after the deadline, customer default; updates status
// and returns the contract revenue, with the penalties and the GPUs delivered
FO_DEVICE double fo_contracts(FO_PARAMS, long long p, long long s, int t, const double* phi, double* status,
                              double* penalty_out, double* delivered_out)
{
    double contract_revenue = 0.0, penalty = 0.0, delivered_gpus = 0.0;
    for (int k = 0; k < K; ++k) {
        const double* c = cgpu + (p * K + k) * (long long)I * T;
        double delivered = c[t] * phi[0];
        double planned = c[t];
        for (int i = 1; i < I; ++i) {
            delivered = delivered + c[i * T + t] * phi[i];
            planned = planned + c[i * T + t];
        }
        int ended = contract_alive[((long long)k * T + t) * S + s] <= 0.0;
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
    *penalty_out = penalty;
    *delivered_out = delivered_gpus;
    return contract_revenue;
}

// market: planned sales scaled by power, capped by realised demand, at scenario prices; returns
// the revenue, with the GPUs sold
FO_DEVICE double fo_market(FO_PARAMS, long long p, long long s, int t, const double* phi, double* sold_out)
{
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
        for (int g = 0; g < G; ++g) {
            const double* r = mrev + (((p * 2 + u) * G + g) * (long long)I) * T;
            double base = r[t] * phi[0];
            for (int i = 1; i < I; ++i) base = base + r[i * T + t] * phi[i];
            revenue = revenue + base * price_factor[((long long)g * T + t) * S + s];
        }
        const double cap = demand[((long long)u * T + t) * S + s];
        const double scale = supply > cap ? cap / (supply > 0 ? supply : 1.0) : 1.0;
        market_revenue = market_revenue + revenue * scale;
        sold_gpus = sold_gpus + gpus * scale;
    }
    *sold_out = sold_gpus;
    return market_revenue;
}

// what the covenants test in a quarter, besides EBITDA and cash
typedef struct {
    double interest, principal, debt;
} fo_debt_service;

// financing: the same steps as fleetopt.core.economics.finance_step. Pays interest (floating
// facilities at the scenario's rate), principal and prepayments, takes the draws, pays tax and
// draws or repays the revolver; updates balance, revolver and cash
FO_DEVICE fo_debt_service fo_finance(FO_PARAMS, long long p, long long s, int t, double ebitda, double gain,
                                     double investing, double* balance, double* revolver, double* cash,
                                     double* loss_pool)
{
    double forecast_interest = 0.0, floating_balance = 0.0;
    for (int f = 0; f < F; ++f) {
        forecast_interest += rate_q[f * T + t] * balance[f];
        floating_balance += floating[f] * balance[f];
    }
    const double interest = forecast_interest + (rate_shift[(long long)t * S + s] / 4.0) * floating_balance + revolver_rate_q * *revolver;
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
    // tax on income less the losses not yet used (fleetopt.core.economics.tax_and_losses)
    double tax;
    if (loss_carry_forward) {
        const double taxable = ebt - *loss_pool;
        tax = tax_rate * fo_max(taxable, 0.0);
        *loss_pool = fo_max(-taxable, 0.0);
    } else {
        tax = tax_rate * fo_max(ebt, 0.0);
    }
    const double other_outflow = investing + (principal_total + pay_total - draws_total);
    *cash = *cash + ebitda - tax - interest - other_outflow;
    const double rev_draw = fo_clip(min_cash_floor - *cash, -*revolver, revolver_limit - *revolver);
    *revolver = *revolver + rev_draw;
    *cash = *cash + rev_draw;
    for (int f = 0; f < F; ++f) debt += balance[f];
    debt += *revolver;
    fo_debt_service out = {interest, principal_total, debt};
    return out;
}

// covenants: the quantities of fleetopt.core.covenants.QUANTITIES, with the flows (EBITDA, debt
// service, interest) averaged over the last covenant_window quarters, oldest first
typedef struct {
    double flow[3][FO_MAX_WINDOW];  // ebitda, debt service, interest of the last quarters, oldest first
    int n;  // quarters kept so far (at most covenant_window)
} fo_covenant_flows;

FO_DEVICE double fo_window_mean(const double* values, int n)
{
    if (n == 1) return values[0];
    double total = values[0];
    for (int j = 1; j < n; ++j) total = total + values[j];
    return total / n;
}

// whether any covenant test (a row of covenant_coef / covenant_index) is missed this quarter by more
// than the round-off tolerance: the same comparisons as fleetopt.core.covenants.CovenantTest.breached
FO_DEVICE int fo_covenant_missed(FO_PARAMS, double ebitda, double cash, fo_debt_service paid,
                                 fo_covenant_flows* kept)
{
    const double quarter[3] = {ebitda, paid.interest + paid.principal, paid.interest};
    if (kept->n == covenant_window) {  // drop the oldest quarter
        for (int q = 0; q < 3; ++q)
            for (int j = 1; j < covenant_window; ++j) kept->flow[q][j - 1] = kept->flow[q][j];
        kept->n -= 1;
    }
    for (int q = 0; q < 3; ++q) kept->flow[q][kept->n] = quarter[q];
    kept->n += 1;
    double value[5];  // ebitda, debt, debt service, interest, cash
    value[0] = fo_window_mean(kept->flow[0], kept->n);
    value[1] = paid.debt;
    value[2] = fo_window_mean(kept->flow[1], kept->n);
    value[3] = fo_window_mean(kept->flow[2], kept->n);
    value[4] = cash;
    int missed = 0;
    for (int r = 0; r < R; ++r) {
        const int* ix = covenant_index + 4 * r;
        const double a = covenant_coef[2 * r], b = covenant_coef[2 * r + 1];
        const double greater = a != 1.0 ? a * value[ix[0]] : value[ix[0]];
        const double lesser = ix[1] < 0 ? b : (b != 1.0 ? b * value[ix[1]] : value[ix[1]]);
        int row = ix[3] ? lesser > greater + FO_COVENANT_TOLERANCE_USD : greater < lesser - FO_COVENANT_TOLERANCE_USD;
        if (ix[2] >= 0) row = row && value[ix[2]] > 0;
        missed = missed || row;
    }
    return missed;
}

// one (plan, scenario) pair through every quarter; idx = p * S + s
FO_DEVICE void fo_pair(long long idx, FO_PARAMS)
{
    const long long p = idx / S;
    const long long s = idx % S;
    double balance[FO_MAX_FACILITIES];
    double status[FO_MAX_CONTRACTS];
    double phi[FO_MAX_SITES];
    for (int f = 0; f < F; ++f) balance[f] = opening_balance[f];
    for (int k = 0; k < K; ++k) status[k] = accepted[p * K + k];
    double cash = opening_cash, prev_cash = opening_cash, revolver = 0.0, loss_pool = 0.0;
    double npv = 0.0, min_cash = 1.0e308, util = 0.0;  // above any cash: the first quarter sets it
    int breach = 0, in_default = 0;
    fo_covenant_flows kept;
    kept.n = 0;

    for (int t = 0; t < T; ++t) {
        const double fixed_saved = fo_power_shares(FO_ARGS, p, s, t, phi);
        double penalty, delivered_gpus, sold_gpus;
        const double contract_revenue = fo_contracts(FO_ARGS, p, s, t, phi, status, &penalty, &delivered_gpus);
        const double market_revenue = fo_market(FO_ARGS, p, s, t, phi, &sold_gpus);

        double electricity = elec[(p * I) * T + t] * phi[0];
        for (int i = 1; i < I; ++i) electricity = electricity + elec[(p * I + i) * T + t] * phi[i];
        electricity = electricity * electricity_factor[(long long)t * S + s];
        const double fixed_costs = site_fixed[p * T + t] + other_opex[p * T + t];
        const double ebitda = market_revenue + contract_revenue - electricity - (fixed_costs - fixed_saved) - penalty;
        const double cash_proceeds = proceeds[p * T + t] * resale_factor[(long long)t * S + s];
        const double gain = cash_proceeds - book[p * T + t];
        const double investing = capex[p * T + t] - cash_proceeds;
        const fo_debt_service paid = fo_finance(FO_ARGS, p, s, t, ebitda, gain, investing, balance, &revolver, &cash, &loss_pool);

        npv = npv + discount[t] * (cash - prev_cash);
        prev_cash = cash;
        min_cash = fo_min(min_cash, cash);
        if (cash < min_cash_floor - FO_DEFAULT_TOLERANCE_USD) in_default = 1;
        // the flows are kept from the first quarter (a trailing test looks back before it is tested)
        if (R > 0 && fo_covenant_missed(FO_ARGS, ebitda, cash, paid, &kept) && t >= covenant_from) breach = 1;
        util = util + (sold_gpus + delivered_gpus) * inv_held[p * T + t];
    }
    double debt_end = 0.0;
    for (int f = 0; f < F; ++f) debt_end += balance[f];
    debt_end += revolver;
    const double terminal = terminal_fleet[p] * resale_factor[(long long)(T - 1) * S + s] + terminal_power[p];
    npv = npv + discount[T - 1] * (terminal - debt_end);
    out_npv[idx] = npv;
    out_min_cash[idx] = min_cash;
    out_breach[idx] = breach;
    out_default[idx] = in_default;
    out_utilisation[idx] = util / T;
}

FO_KERNEL void fleetopt_evaluate(FO_PARAMS)
{
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
    const long long first = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    const long long stride = (long long)gridDim.x * blockDim.x;
#else
    const long long first = 0, stride = 1;
#endif
    for (long long idx = first; idx < n_pairs; idx += stride) fo_pair(idx, FO_ARGS);
}
