// fleetopt: the fused evaluation kernel. Each (plan, scenario) pair is simulated through every
// quarter by one thread (one loop iteration in C), its state (cash, revolver, contract status,
// covenant flows) in registers. It implements the same quarter as fleetopt/evaluate/simulate.py and
// its steps' modules (the oracle it is tested against), in the same order of operations. Money is
// float64. fo_quarter runs the quarter steps of docs/evaluation.md ("One quarter of one (plan,
// scenario) pair") in their order, one function each, named after the NumPy step it mirrors
// (fo_orders: Liquidity.orders, fo_quarter_operations: operations.quarter_operations, fo_financing:
// financing.quarter_financing, fo_covenants: covenant_tests.covenants_missed; their helpers likewise),
// fo_finish the end term (simulate._end_term).
//
// The same source compiles three ways: by NVRTC through CuPy (RawKernel), by nvcc, and as plain
// C (gcc/clang, with OpenMP where available) for the CPU backend `cpu-kernel` and the CPU tests.
//
// fleetopt/evaluate/kernel/source.py prepends what this file needs and does not write:
//  * FO_PARAMS / FO_ARGS: the parameter list, generated from KERNEL_ARGUMENTS;
//  * the model's shape as constants (FO_T quarters, FO_I sites, FO_K contracts, FO_B power-block
//    groups, FO_G generations, FO_W covenant window, FO_R covenant tests and their layout
//    FO_COVENANT_ROWS), the offsets of the per-plan quarter table (FO_Q_*, FO_NQ) and of the
//    per-plan quarter flags (FO_F_*). One kernel is compiled (and cached) per shape, so loops over
//    sites, generations and covenant rows unroll and the pair's state stays in registers.
//
// Division of work: everything that depends only on the plan (site totals, term-loan balances,
// principal, forecast interest, term debt, contract revenue at full delivery) is computed once
// per plan by kernel/plan_tables.py into plan_quarter[P][T][FO_NQ] and the bit masks
// plan_flags / plan_served [P][T]; everything that depends only on the scenario (which contracts'
// customers are still alive) into alive_bits[T][S]. The pair loop streams through those. A
// quarter in which no site of the pair can be short of power (the usual case) takes the fast path
// on the plan's totals; the per-site path runs only in the quarters a power block is late for this
// pair or the plan over-draws a site. The policy's rules (fleetopt/schema/policy.py) are switched
// by the arguments contracts_first, reschedule, freed_to_market, defer_orders and distress_sales,
// the idle GPUs' rule by FO_IDLE_RULE (compiled in where it is on and some plan holds idle GPUs),
// and the prepayment rule by FO_CUT (compiled in where it is on and some plan prepays; its per-pair
// balances for the FO_FP facilities prepaid before the last quarter), and policy rule 6's mandatory
// prepayments of a borrowing-base deficiency by FO_BASE_PREPAY (compiled in where it is on and a base is
// tested; per pair, the principal it prepaid on each of the FO_FB GPU-secured facilities):
// all off is the open loop, with the same operations as before the policy existed.

#ifndef FO_PARAMS
#error "compile the output of fleetopt.evaluate.kernel.source.kernel_source(shape): it defines FO_PARAMS and FO_ARGS"
#endif
#ifndef FO_T
#error "compile the output of fleetopt.evaluate.kernel.source.kernel_source(shape): it defines the model's sizes"
#endif

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define FO_GPU 1
#define FO_DEVICE __device__ static __forceinline__
#define FO_RESTRICT __restrict__
#define FO_LOAD(ptr) __ldg(ptr)
#define FO_CTZ(x) (__ffsll((long long)(x)) - 1)
#else
#define FO_GPU 0
#define FO_DEVICE static inline
#define FO_RESTRICT restrict
#define FO_LOAD(ptr) (*(ptr))
#define FO_CTZ(x) __builtin_ctzll(x)
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#endif

// the GPU's code paths (its scenario quarter loaded once per thread, its branches where a warp
// agrees), also compiled into the C build with -DFO_GPU_CODE=1: the CPU tests check them against
// NumPy (tests/test_kernel_cpu.py), as no GPU may be at hand
#ifndef FO_GPU_CODE
#define FO_GPU_CODE FO_GPU
#endif

#ifndef FO_THREADS
#define FO_THREADS 128
#endif
// FO_REL, FO_COVENANT_TOLERANCE_USD (also the least quantity a test applies to), FO_LIQUIDITY_TOLERANCE_USD,
// FO_TINY, FO_LATE_PLANES (late quarters counted to 2^FO_LATE_PLANES - 1) and FO_QUARTERS_PER_YEAR (an
// annual rate's quarterly share is rate / FO_QUARTERS_PER_YEAR, core.quarters.per_quarter) come from
// kernel/shape.py's KernelShape.defines, the constants NumPy's simulation uses
#define FO_REACTED_RESCHEDULED 1
#define FO_REACTED_CANCELLED 2
#define FO_REACTED_FREED 4
#define FO_REACTED_DEFERRED 8
#define FO_REACTED_ORDER_CANCELLED 16
#define FO_REACTED_SOLD 32
#define FO_REACTED_PREPAYMENT_CUT 64
// fo_state.breach: the first breach's covenants (core.covenants.kind_bit mask, the low byte) and,
// above it, the pair's cure rights (core.covenants.CureRights; kept with the breach, as a register
// of their own spills the state on sm_90): one cure used (their count in the second byte; T <= 80),
// whether the quarter before was a cured breach, and whether a breach could not be cured
#define FO_FIRST_BREACH 0xFF
#define FO_CURE_ONE 0x100
#define FO_CURES_USED 0xFF00
#define FO_CURED_LAST 0x10000
#define FO_UNCURED 0x20000
// fo_state.before: three counts of quarters, FO_BEFORE_BITS bits each
#define FO_BEFORE_BITS 10
#define FO_BEFORE_MASK 0x3FF

typedef unsigned long long fo_bits;

FO_DEVICE double fo_min(double a, double b) { return a < b ? a : b; }
FO_DEVICE double fo_max(double a, double b) { return a > b ? a : b; }
FO_DEVICE double fo_clip(double x, double lo, double hi) { return fo_min(fo_max(x, lo), hi); }
// x where it is positive, else 1 (a divisor whose quotient is then masked or 0: liquidity.py positive_divisor)
FO_DEVICE double fo_positive(double x) { return x > 0 ? x : 1.0; }

// quarters from .. until - 1 (clipped to the horizon) as bits
FO_DEVICE fo_bits fo_quarters(int from, int until)
{
    if (from < 0) from = 0;
    if (until > FO_T) until = FO_T;
    if (until <= from) return 0ULL;
    const fo_bits below_until = until >= 64 ? ~0ULL : ((1ULL << until) - 1ULL);
    return below_until & ~((1ULL << from) - 1ULL);
}

// scenario row `row` (factor index * FO_T + quarter) of a factor, scenario s: time-major (the
// GPU: consecutive threads read consecutive addresses) or scenario-major (the C build: one pair
// reads one contiguous stretch)
#if FO_SCENARIO_MAJOR
#define FO_SCEN(factor, row, s) FO_LOAD((factor) + (long long)(s) * FO_ROWS_##factor + (row))
#else
#define FO_SCEN(factor, row, s) FO_LOAD((factor) + (long long)(row) * S + (s))
#endif
// field `f` of the plan's quarter table row q
#define FO_Q(f) FO_LOAD(q + (f))

// what the scenario holds for one quarter, loaded once for every plan a thread simulates on it
// (only what those plans need that quarter: `need` is the union of their plan_flags)
typedef struct {
    double ef, rate, resale;
    double demand[2];
    double price[FO_G > 0 ? FO_G : 1];
    fo_bits alive;
} fo_scenario_quarter;

#if FO_GPU_CODE
FO_DEVICE fo_scenario_quarter fo_load_quarter(FO_PARAMS, long long s, int t, fo_bits need, int any_live)
{
    fo_scenario_quarter sq;
    sq.ef = FO_SCEN(electricity_factor, t, s);
    sq.alive = any_live ? FO_SCEN(alive_bits, t, s) : 0ULL;
    sq.rate = ((need >> FO_F_FLOATING) & 1ULL) ? FO_SCEN(rate_shift, t, s) : 0.0;
    sq.resale = ((need >> FO_F_PROCEEDS) & 1ULL) ? FO_SCEN(resale_factor, t, s) : 1.0;
#pragma unroll
    for (int u = 0; u < 2; ++u) sq.demand[u] = ((need >> (FO_F_MARKET + u)) & 1ULL) ? FO_SCEN(demand, u * FO_T + t, s) : 0.0;
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        const int sold = (int)(((need >> (FO_F_SOLD + g)) | (need >> (FO_F_SOLD + FO_G + g))) & 1ULL);
        sq.price[g] = sold ? FO_SCEN(price_factor, g * FO_T + t, s) : 0.0;
    }
    return sq;
}
#endif

// a scenario value of quarter t: on the GPU from the quarter loaded once for the thread's plans
// (sq), in the C build straight from the scenario-major rows (one pair at a time: fewer branches)
#if FO_GPU_CODE
#define FO_SQ(field, factor, row) (sq->field)
#else
#define FO_SQ(field, factor, row) FO_SCEN(factor, row, s)
#endif

// the share of contract k its customer still takes in quarter t (risk.contract_scale_back;
// layout.ScenarioRows.kept_row), and x times the share of a contract's GPUs freed: compiled in only
// where some contract may be cut, so that a model without a scale-back runs the same operations
#define FO_SCALE_BACK (FO_ROWS_contract_kept_share > 0)
#if FO_SCALE_BACK
#define FO_KEPT(k, t) FO_SCEN(contract_kept_share, (k) * FO_T + (t), s)
#define FO_TIMES(x, share) ((x) * (share))
#else
#define FO_KEPT(k, t) 1.0
#define FO_TIMES(x, share) (x)
#endif

// the utilisation summed over the quarters: on a GPU in the pair's output slot, as one more double of
// state spills there (tests/test_kernel_compile.py); in the C build as state, where a load and a
// store each quarter cost 10 % of its time (benchmarks/README.md). Needs p, s and S in scope.
#if FO_GPU_CODE
#define FO_UTIL(st) out_utilisation[p * S + s]
#else
#define FO_UTIL(st) ((st)->util)
#endif

// the state of one (plan, scenario) pair, carried from quarter to quarter
typedef struct {
    fo_bits short_quarters;  // quarters this pair may lack power
    fo_bits live;  // contracts taken and not yet ended
    double cash, prev_cash, revolver, npv, min_cash;
#if !FO_GPU_CODE
    double util;  // on a GPU: FO_UTIL
#endif
    double loss_pool;  // tax losses not yet used (with loss carry-forward)
    double taxable;  // the quarter's taxable income before the floor at 0 (for the liquidation's tax)
    int breach;  // the first breach's covenants (FO_FIRST_BREACH; 0 before one) and the cure rights (FO_CURE*)
    // quarters before the first breach (bits 0-9), before the default (bits 10-19) and before the
    // uncured breach (bits 20-29): one register, as the state must stay in registers
    // (tests/test_kernel_compile.py); T <= 80 < 2^10 (FO_BEFORE_*)
    int before;
    int reacted;  // the policy's reactions so far, one bit each (FO_REACTED_*)
    // the liquidity rules (evaluate/liquidity.py): GPUs gone for good by generation, the order
    // deferred into the next quarter (its price, deposit and GPUs), a sale's gain taxed next quarter
    double missing[FO_G > 0 ? FO_G : 1], due_gpus[FO_G > 0 ? FO_G : 1];
    double due, due_deposit, carried_gain;
    // share of last quarter's order deferred into this quarter: of its price, its earnings now and its
    // GPU-backed draws alike (liquidity.py keeps it as due_ebitda's share, and draws_due where it draws)
    double order_share_due;
    // the prepayment rule (core.economics.quarter_finance.finance_step): USD kept outstanding per prepaid facility
    // slot (KernelShape.prepaid) because a planned prepayment was cut; what the last quarter keeps
    // is added to slot 0 (only its sum matters: the debt at the end)
    double kept_debt[FO_FP > 0 ? FO_FP : 1];
    // the order rule (core.economics.debt.FinanceState.forgone): USD per GPU-backed facility slot
    // (KernelShape.forgone) never drawn because the order those draws funded was cancelled
    double forgone[FO_FL > 0 ? FO_FL : 1];
#if FO_BASE_PREPAY
    // policy rule 6 (financing._prepay_base_deficiency): USD per base slot (KernelShape.base_slots) the pair
    // owes less than the plan, prepaid to mend a borrowing-base deficiency and not yet due on its schedule
    double base_less[FO_FB];
#endif
    fo_bits late[FO_LATE_PLANES];  // late quarters of each contract (policy), as bit planes: fo_late_add
#if FO_R > 0 && FO_W > 1
    // EBITDA, debt service, interest (and EBITDA less tax where a test reads it: FO_CFADS) of the last
    // FO_W quarters, oldest first
    double kept[3 + FO_CFADS][FO_W];
#endif
} fo_state;

// contract k's late quarters plus one, saturating at 2^FO_LATE_PLANES - 1 (kernel_fits sends models with
// a larger delay allowance to the array code); the counts are bit planes so that they stay in registers
FO_DEVICE int fo_late_add(fo_bits* late, int k)
{
    int count = 0;
#pragma unroll
    for (int j = 0; j < FO_LATE_PLANES; ++j) count |= (int)((late[j] >> k) & 1ULL) << j;
    if (count < (1 << FO_LATE_PLANES) - 1) ++count;
#pragma unroll
    for (int j = 0; j < FO_LATE_PLANES; ++j) late[j] = (late[j] & ~(1ULL << k)) | ((fo_bits)((count >> j) & 1) << k);
    return count;
}

// x added to the entry of use u of a pair of sums (the other gets +0.0, which changes no bits): a
// static index keeps the sums in registers
#define FO_ADD_USE(pair, u, x)                            \
    {                                                     \
        const double x_ = (x);                            \
        (pair)[0] = (pair)[0] + ((u) == 0 ? x_ : 0.0);    \
        (pair)[1] = (pair)[1] + ((u) == 1 ? x_ : 0.0);    \
    }

// what a quarter earns, and how much of the fleet earns it
typedef struct {
    double ebitda;
    double gpus_used;  // sold in the market plus delivered under contracts
#if FO_PRESENT_COST
    double opex;  // electricity, fixed costs and penalties: revenue less EBITDA (the present cost's)
#endif
} fo_operations;

// GPUs the liquidity rules take out of the plan this quarter: the share of each generation's market
// GPUs and of its GPUs held that are missing (evaluate/liquidity.py: taken_share), and the change
// to the quarter's capex (deferred payments due, less what is deferred). All 0 without the rules.
typedef struct {
    double market[FO_G > 0 ? FO_G : 1], held[FO_G > 0 ? FO_G : 1];
    double capex;
    // the share of the previous quarter's GPU-backed draws deferred into this one (Adjustments.draws_in;
    // this quarter's deferred to the next: fo_state.order_share_due), less the part of it whose order this
    // quarter cancels (Adjustments.draws_cancelled): never drawn, it is in fo_state.forgone already,
    // whose interest (fo_forgone_interest) stands for the interest the deferral saves on it
    double draws_in;
} fo_taken;

// 1 / of where it is positive, else 0 (liquidity.inverse; plan_tables sends the plan's as FO_Q_*_INV)
FO_DEVICE double fo_inverse(double of) { return of > 0 ? 1.0 / of : 0.0; }

// the share `missing` GPUs are of a quantity given its inverse (fo_inverse), at most 1 (liquidity.taken_share)
FO_DEVICE double fo_taken_share(double missing, double inverse) { return fo_min(missing * inverse, 1.0); }

// the EBITDA `gpus` of generation g contribute in the quarter of row q, valued as GPUs taken out: their share
// of what its market GPUs earn less their share of its opex (liquidity.taken_ebitda)
FO_DEVICE double fo_taken_ebitda(const double* q, int g, double gpus)
{
    return fo_taken_share(gpus, FO_Q(FO_Q_GEN_MARKET_GPUS_INV + g)) * FO_Q(FO_Q_GEN_MARKET_EARNED + g)
           - fo_taken_share(gpus, FO_Q(FO_Q_GEN_HELD_INV + g)) * FO_Q(FO_Q_GEN_OPEX + g);
}

// what a distress sale (policy rule 4) raises per GPU of generation g in the quarter of row q: the plan's net
// resale value of its GPUs held per GPU, times `resale` (the scenario's factor times the sale's share)
// (liquidity.sale_value_per_gpu)
FO_DEVICE double fo_sale_value_per_gpu(const double* q, int g, double resale)
{
    return FO_Q(FO_Q_GEN_SALE_VALUE + g) / fo_positive(FO_Q(FO_Q_GEN_HELD + g)) * resale;
}

#if FO_BASE_PREPAY
// policy rule 6: what quarter t's repayment of base slot j's facility (row q) leaves of the principal the
// pair owes less than the plan (`less`), as core.economics.debt.repaid_from repays the pair's lower balance:
// its scheduled principal, then its planned prepayment, find that much less owed (*less_principal,
// *less_prepaid: what the pair pays short of the plan)
FO_DEVICE double fo_base_repaid(const double* q, int j, double less, double* less_principal, double* less_prepaid)
{
    const double available = FO_Q(FO_Q_BASE_AVAILABLE + j), scheduled = FO_Q(FO_Q_BASE_SCHEDULED + j);
    const double prepay = FO_Q(FO_Q_BASE_PREPAY + j);
    const double principal = fo_min(scheduled, available), own = available - less;
    const double own_principal = fo_min(scheduled, own);
    *less_principal = principal - own_principal;
    *less_prepaid = fo_min(prepay, available - principal) - fo_min(prepay, own - own_principal);
    return (less - *less_principal) - *less_prepaid;
}

// what the pair owes base slot j's facility less than the plan at the end of quarter t (row q): after
// the quarter's repayment (fo_base_repaid) where `repaid` is 0 (the quarter's start: the order rule's
// projection), as it is where 1 (st->base_less already repaid)
FO_DEVICE double fo_base_less_after(const double* q, int j, const fo_state* st, int repaid)
{
    double less_principal, less_prepaid;
    const double less = st->base_less[j];
    if (repaid || !(less > 0)) return less;
    return fo_base_repaid(q, j, less, &less_principal, &less_prepaid);
}

// the interest quarter t does not charge on the principal rule 6 prepaid (as fo_kept_interest, at each
// facility's rate with the scenario's shifts); with rates_only, the shifts' part alone, what the order rule's
// projection takes off the plan's shifted interest (core.economics.quarter_finance.shifted_interest on the
// pair's balances)
FO_DEVICE double fo_base_interest(const double* q, fo_bits flags, double shift, double spread, const fo_state* st,
                                  int shifts_only)
{
    double total = 0.0;
#pragma unroll
    for (int j = 0; j < FO_FB; ++j) {
        double rate = shifts_only ? 0.0 : FO_Q(FO_Q_BASE_RATE + j);
        if (!shifts_only || ((flags >> FO_F_FLOATING) & 1ULL))
            rate = rate + (shift / FO_QUARTERS_PER_YEAR) * FO_Q(FO_Q_BASE_FLOATING + j);
        if (FO_Q(FO_Q_BASE_REFINANCED + j) != 0.0 && (!shifts_only || ((flags >> FO_F_REFINANCED) & 1ULL)))
            rate = rate + spread / FO_QUARTERS_PER_YEAR;
        total = total + rate * st->base_less[j];
    }
    return total;
}
#endif

// the plan's balance on forgone slot l's facility at the end of quarter t (row q), less what the pair owes
// less by rule 6 (fo_base_less_after; `repaid` as there): the pair's, which its balances never drawn may
// not exceed (core.economics.policy_balances._forgone_over_balance)
#if FO_FL > 0
FO_DEVICE double fo_forgone_owed(const double* q, int l, const fo_state* st, int repaid)
{
    double owed = FO_Q(FO_Q_FORGONE_OWED + l);
#if FO_BASE_PREPAY
    const int j = FO_FORGONE_BASE_SLOT(l);
    if (j >= 0) owed = owed - fo_base_less_after(q, j, st, repaid);
#endif
    (void)st; (void)repaid;
    return owed;
}
#endif

// the scheduled instalments kept slot j's facility no longer covers of the pair's own balance in quarter t
// (row q), which the balance kept by a cut prepayment repays: the plan's, and where rule 6 prepaid some of
// the pair's balance, what that leaves unpaid too (fo_base_repaid; before the quarter's repayment)
#if FO_FP > 0
FO_DEVICE double fo_unpaid(const double* q, int j, const fo_state* st)
{
    double unpaid = FO_Q(FO_Q_UNPAID + j);
#if FO_BASE_PREPAY
    const int k = FO_KEPT_BASE_SLOT(j);
    if (k >= 0 && st->base_less[k] > 0) {
        double less_principal, less_prepaid;
        fo_base_repaid(q, k, st->base_less[k], &less_principal, &less_prepaid);
        unpaid = unpaid + less_principal;
    }
#endif
    (void)st;
    return unpaid;
}
#endif

// the prepayment rule (core.economics.quarter_finance.finance_step, cut_prepayment): the balances a pair keeps
// because planned prepayments were cut, per prepaid facility slot. Interest on them in quarter t at
// each facility's rate (plus shift / 4 where it floats, and spread / 4 where it is a refinanced
// bullet's), in slot (= facility) order
FO_DEVICE double fo_kept_interest(FO_PARAMS, int t, double shift, double spread, const fo_state* st)
{
    double total = 0.0;
#pragma unroll
    for (int j = 0; j < FO_FP; ++j) {
        double rate = FO_LOAD(slot_rate + j * FO_T + t) + (shift / FO_QUARTERS_PER_YEAR) * FO_LOAD(slot_floating + j * FO_T + t);
        if (FO_LOAD(slot_refinanced + j * FO_T + t) != 0.0) rate = rate + spread / FO_QUARTERS_PER_YEAR;
        total = total + rate * st->kept_debt[j];
    }
    return total;
}

// what quarter t pays on the balances kept by cut prepayments (core.economics.policy_balances.kept_due): their
// interest and the scheduled instalments the plan's own balance no longer covers (row q), known
// at the start of the quarter; st->kept_debt is left as it is
FO_DEVICE double fo_kept_due(FO_PARAMS, const double* q, int t, double shift, double spread, const fo_state* st)
{
    double paid = 0.0;
#pragma unroll
    for (int j = 0; j < FO_FP; ++j) paid = paid + fo_min(fo_unpaid(q, j, st), st->kept_debt[j]);
    return fo_kept_interest(FO_ARGS, t, shift, spread, st) + paid;
}

// the order rule's balances never drawn (core.economics.debt.FinanceState.forgone): the interest on them
// in quarter t at each facility's rate (as fo_kept_interest), in slot (= facility) order
FO_DEVICE double fo_forgone_interest(const double* q, double shift, double spread, const fo_state* st)
{
    double total = 0.0;
#pragma unroll
    for (int l = 0; l < FO_FL; ++l) {
        double rate = FO_Q(FO_Q_FORGONE_RATE + l) + (shift / FO_QUARTERS_PER_YEAR) * FO_Q(FO_Q_FORGONE_FLOATING + l);
        if (FO_Q(FO_Q_FORGONE_REFINANCED + l) != 0.0) rate = rate + spread / FO_QUARTERS_PER_YEAR;
        total = total + rate * st->forgone[l];
    }
    return total;
}

// what quarter t does not pay on the balances never drawn (core.economics.policy_balances.forgone_due): their interest
// and their shares of the plan's principal and prepayments, known at the start of the quarter
FO_DEVICE double fo_forgone_due(const double* q, double shift, double spread, const fo_state* st)
{
    double repaid = 0.0;
#pragma unroll
    for (int l = 0; l < FO_FL; ++l)
        repaid = repaid + st->forgone[l] * (FO_Q(FO_Q_FORGONE_PRINCIPAL + l) + FO_Q(FO_Q_FORGONE_PREPAID + l));
    return fo_forgone_interest(q, shift, spread, st) + repaid;
}

#if FO_FL > 0
// what of a balance never drawn on facility l the plan's principal and prepayment shares of quarter
// t leave, as fo_quarter repays it (core.economics.policy_balances._left_after)
FO_DEVICE double fo_left_after(const double* q, double forgone, int l)
{
    return (forgone - forgone * FO_Q(FO_Q_FORGONE_PRINCIPAL + l)) - forgone * FO_Q(FO_Q_FORGONE_PREPAID + l);
}

// what of the balances never drawn quarter t leaves above the plan's balance less the draws
// deferred out of t, with share of the order deferred: repaid too, so the pair pays that much less
// (core.economics.policy_balances.ForgoneExcess.at; fo_quarter repays it)
FO_DEVICE double fo_forgone_excess(const double* q, const fo_state* st, double share)
{
    double total = 0.0;
#pragma unroll
    for (int l = 0; l < FO_FL; ++l) {
        const double forgone = st->forgone[l];
        const double left = fo_left_after(q, forgone, l);
        const double room = fo_max(fo_forgone_owed(q, l, st, 0) - share * FO_Q(FO_Q_FORGONE_DRAWS + l), 0.0);
        total = total + fo_max(left - room, 0.0);
    }
    return total;
}

// the least share f (from share, gap / saving, at most 1, down one linear piece at a time) with
// f x saving + the sum over l of max(base[l] + f x per_share[l], 0) = gap (core.economics.policy_balances._closing_share)
FO_DEVICE double fo_closing_share(double share, double gap, double saving, const double* base, const double* per_share)
{
    for (int k = 0; k <= FO_FL; ++k) {
        double offset = 0.0, added = 0.0;
#pragma unroll
        for (int l = 0; l < FO_FL; ++l) {
            const int gone = base[l] + share * per_share[l] > 0;
            offset = offset + (gone ? base[l] : 0.0);
            added = added + (gone ? per_share[l] : 0.0);
        }
        const double slope = saving + added;
        const double closing = (gap - offset) / (slope > 0 ? slope : 1.0);
        share = fo_min(share, fo_max(closing, 0.0));
    }
    return share;
}

// the share of the order that closes gap counting that excess, from share (gap / saving, at most 1;
// core.economics.policy_balances.ForgoneExcess.deferred_share)
FO_DEVICE double fo_deferred_share(const double* q, const fo_state* st, double gap, double saving, double share)
{
    double base[FO_FL], draws[FO_FL];
#pragma unroll
    for (int l = 0; l < FO_FL; ++l) {
        base[l] = fo_left_after(q, st->forgone[l], l) - fo_forgone_owed(q, l, st, 0);
        draws[l] = FO_Q(FO_Q_FORGONE_DRAWS + l);
    }
    return fo_closing_share(share, gap, saving, base, draws);
}

// the share of the order due cancelled that closes cover counting what its draws never drawn
// (draws_in of last quarter's) add to that excess, deferred of this quarter's order deferred, from
// cancel (cover / saved, at most 1; core.economics.policy_balances.ForgoneExcess.cancelled_share)
FO_DEVICE double fo_cancelled_share(const double* q, const fo_state* st, double deferred, double draws_in,
                                    double cover, double saved, double cancel)
{
    double over[FO_FL], per_cancel[FO_FL];
#pragma unroll
    for (int l = 0; l < FO_FL; ++l) {
        const double room = fo_max(fo_forgone_owed(q, l, st, 0) - deferred * FO_Q(FO_Q_FORGONE_DRAWS + l), 0.0);
        over[l] = fo_left_after(q, st->forgone[l], l) - room;
        per_cancel[l] = fo_left_after(q, draws_in * FO_LOAD(q - FO_NQ + FO_Q_FORGONE_DRAWS + l), l);
    }
    return fo_closing_share(cancel, cover + fo_forgone_excess(q, st, deferred), saved, over, per_cancel);
}
#endif

// what the scenario's rate shift (where quarter t floats) and spread shift (where a refinanced
// bullet's does) add to the forecast interest on the plan's own balances
// (core.economics.quarter_finance.shifted_interest; fo_quarter charges the same)
FO_DEVICE double fo_shifted_interest(const double* q, fo_bits flags, double shift, double spread)
{
    double added = 0.0;
    if ((flags >> FO_F_FLOATING) & 1ULL) added = (shift / FO_QUARTERS_PER_YEAR) * FO_Q(FO_Q_FLOATING_BALANCE);
    if ((flags >> FO_F_REFINANCED) & 1ULL) added = added + (spread / FO_QUARTERS_PER_YEAR) * FO_Q(FO_Q_REFINANCED_BALANCE);
    return added;
}

// the interest quarter t does not charge on the share draws_in of quarter t - 1's GPU-backed draws
// deferred into it, at the rate of t (shift: the scenario's, annual) (liquidity.deferred_draws_interest)
FO_DEVICE double fo_deferred_draws_interest(const double* q, double draws_in, double shift)
{
    const double* prev = q - FO_NQ;
    return draws_in * (FO_LOAD(prev + FO_Q_LTV_DRAW_RATE)
                       + (shift / FO_QUARTERS_PER_YEAR) * FO_LOAD(prev + FO_Q_LTV_DRAW_FLOATING));
}

// what the GPUs gone for good before quarter t (sold, or cancelled in an earlier quarter) would earn in t
// on the forecast, valued as GPUs taken out, taken from `need` (Liquidity._less_missing_earnings)
FO_DEVICE double fo_less_missing_earnings(const double* q, const fo_state* st, double need)
{
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        if (st->missing[g] > 0) need = need - fo_taken_ebitda(q, g, st->missing[g]);
    }
    return need;
}

// the cash quarter t would end below the minimum plus the plan's buffer, on the plan's forecast cash flow
// corrected for the pair (Liquidity.orders: gap): less the order due (paid from capex), the missing GPUs'
// earnings and the scenario's change of the rates on the plan's own debt, the last quarter's draws deferred
// into t and the interest they did not bear, what cut prepayments and cancelled orders' draws change, with
// the undrawn revolver (less its interest on what is drawn, due now) as cash
FO_DEVICE double fo_order_gap(FO_PARAMS, long long p, long long s, int t, fo_bits flags, const double* q,
                              const fo_scenario_quarter* sq, const fo_state* st)
{
    double need = fo_less_missing_earnings(q, st, FO_Q(FO_Q_FORECAST_CASH_FLOW) - st->due);
    const double share_in = st->order_share_due;  // of last quarter's order: its GPU-backed draws with it
    if (share_in > 0) {  // they arrive now, and last quarter's balance did not bear their interest
        need = need + share_in * FO_LOAD(q - FO_NQ + FO_Q_LTV_DRAWS);
        need = need + fo_deferred_draws_interest(q, share_in, FO_SQ(rate, rate_shift, t));
    }
    const double room = revolver_limit - st->revolver - revolver_rate_q * st->revolver;
    // the scenario's change of the rates on the plan's own debt (core.economics.quarter_finance.shifted_interest)
    const double spread = ((flags >> FO_F_REFINANCED) & 1ULL) ? FO_SCEN(spread_shift, t, s) : 0.0;
    need = need - fo_shifted_interest(q, flags, FO_SQ(rate, rate_shift, t), spread);
#if FO_BASE_PREPAY  // on the pair's own balances: less the principal rule 6 prepaid
    need = need + fo_base_interest(q, flags, FO_SQ(rate, rate_shift, t), spread, st, 1);
#endif
#if FO_FP > 0
    // the interest and instalments of prepayments cut before, due now (core.economics.policy_balances.kept_due)
    need = need - fo_kept_due(FO_ARGS, q, t, FO_SQ(rate, rate_shift, t), spread, st);
#endif
#if FO_FL > 0
    // what the draws of orders cancelled before would have cost now (core.economics.policy_balances.forgone_due)
    need = need + fo_forgone_due(q, FO_SQ(rate, rate_shift, t), spread, st);
#endif
    return (min_cash_floor + FO_LOAD(lbuf + p)) - (st->cash + room + need);
}

// what an order deferred from quarter t falls due in t + 1 (fo_state.due, due_deposit, due_gpus)
typedef struct {
    double price, deposit;
    double gpus[FO_G > 0 ? FO_G : 1];
} fo_order_due;

// Liquidity._defer, the deferral: where cash falls short by more than the tolerance, the share of quarter
// t's order that closes the gap (at most all of it; the excess of the balances never drawn counted) is
// deferred: its capex leaves this quarter (*capex, the pair's out_deferred_usd), its GPUs are missing now
// (now[g]) and fall due next quarter (*next), and *gap falls by what the deferral saves. Returns the share
// deferred (of the order's price, earnings and GPU-backed draws alike; 0: none)
FO_DEVICE double fo_defer_order(FO_PARAMS, long long p, long long s, const double* q, fo_state* st, double* gap,
                                double* capex, double* now, fo_order_due* next)
{
    const double saving = FO_Q(FO_Q_ORDER_SAVING);
    if (!(*gap > FO_LIQUIDITY_TOLERANCE_USD)) return 0.0;
    double share = fo_min(*gap / fo_positive(saving), 1.0) * (saving > 0 ? 1.0 : 0.0);
#if FO_FL > 0
    if (share > 0) share = fo_deferred_share(q, st, *gap, saving, share);
#endif
    const double deferred = share * FO_Q(FO_Q_ORDER_CAPEX);
    *capex = *capex + (-deferred);
    // the capex deferred: added in its output slot (as the deposits forfeited: fo_cancel_order), so
    // that the state's registers keep the balances never drawn (fo_state.forgone)
    out_deferred_usd[p * S + s] = out_deferred_usd[p * S + s] + deferred;
    if (share > 0) st->reacted |= FO_REACTED_DEFERRED;
    next->price = share * FO_Q(FO_Q_ORDER_CAPEX_NEXT);
    next->deposit = share * FO_Q(FO_Q_ORDER_DEPOSIT);
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        next->gpus[g] = share * FO_Q(FO_Q_ORDER_GPUS + g);
        now[g] = now[g] + next->gpus[g];
    }
    *gap = *gap - share * saving;
#if FO_FL > 0
    if (share > 0) *gap = *gap - fo_forgone_excess(q, st, share);
#endif
    return share;
}

// the part of `gap` a cancellation of the order due closes (`saved`: what cancelling all of it saves):
// all of it, but where a distress sale of its GPUs raises at least that, only the gap above the default
// level, which no sale covers (Liquidity._not_left_to_sales)
FO_DEVICE double fo_not_left_to_sales(FO_PARAMS, long long p, long long s, int t, const double* q,
                                      const fo_state* st, double gap, double saved)
{
    if (!distress_sales) return gap;
    const double resale = FO_SCEN(resale_factor, t, s) * sale_share;  // rare: not in sq
    double value = 0.0;
#pragma unroll
    for (int g = 0; g < FO_G; ++g)
        value = value + st->due_gpus[g] * fo_sale_value_per_gpu(q, g, resale);
    return value >= saved ? fo_min(gap, (min_cash_floor + FO_LOAD(lbuf + p)) - default_cash) : gap;
}

// Liquidity._defer, the cancellation: deferring all of it was not enough (gap), so the order deferred into
// quarter t is cancelled where that saves cash (the price due above the deposit and what its GPUs would
// earn now, and the GPU-backed draws funding it, not drawn, less their repayment now; share_in is the
// share of last quarter's order deferred into this one, of its earnings and its draws alike, share_out the
// share of this quarter's deferred to the next): the capex it saves (*capex), its deposit forfeited (the
// pair's out_forfeited_usd), its GPUs gone for good (now[g], st->missing), its draws never drawn
// (st->forgone). Returns the share of share_in cancelled (of its draws: 0 where the plan draws none then)
FO_DEVICE double fo_cancel_order(FO_PARAMS, long long p, long long s, int t, const double* q, fo_state* st,
                                 double gap, double share_in, double share_out, double* capex, double* now)
{
    const double price_less_deposit = st->due - st->due_deposit;
    double saved = 0.0;
    if (st->due > 0 && gap > FO_LIQUIDITY_TOLERANCE_USD) {
        saved = price_less_deposit - share_in * FO_LOAD(q - FO_NQ + FO_Q_ORDER_EBITDA_NEXT);
        if (share_in > 0) saved = saved - share_in * FO_LOAD(q - FO_NQ + FO_Q_LTV_OUTSTANDING);
    }
    if (!(saved > 0)) return 0.0;
    const double cover = fo_not_left_to_sales(FO_ARGS, p, s, t, q, st, gap, saved);
    double cancel = fo_min(fo_max(cover, 0.0) / saved, 1.0);
#if FO_FL > 0
    // its draws never drawn add to what the balances never drawn leave above the plan's
    if (share_in > 0 && cancel > 0) cancel = fo_cancelled_share(q, st, share_out, share_in, cover, saved, cancel);
#endif
    const double draws_cancelled = share_in * cancel;
#pragma unroll
    for (int l = 0; l < FO_FL; ++l)
        st->forgone[l] = st->forgone[l] + draws_cancelled * FO_LOAD(q - FO_NQ + FO_Q_FORGONE_DRAWS + l);
    *capex = *capex - cancel * price_less_deposit;
    // the deposit forfeited: added in its output slot (rare; no register of state for it)
    out_forfeited_usd[p * S + s] = out_forfeited_usd[p * S + s] + cancel * st->due_deposit;
    if (cancel > 0) st->reacted |= FO_REACTED_ORDER_CANCELLED;
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        const double gone = cancel * st->due_gpus[g];
        st->missing[g] = st->missing[g] + gone;
        now[g] = now[g] + gone;
    }
    return draws_cancelled;
}

// the shares of each generation's market GPUs and GPUs held missing now (Liquidity._taken: taken_share), with
// the quarter's capex change and the share of last quarter's GPU-backed draws that arrive now
FO_DEVICE fo_taken fo_taken_now(const double* q, const double* now, double capex, double draws_in)
{
    fo_taken tk;
    tk.capex = capex;
    tk.draws_in = draws_in;
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        tk.market[g] = fo_taken_share(now[g], FO_Q(FO_Q_GEN_MARKET_GPUS_INV + g));
        tk.held[g] = fo_taken_share(now[g], FO_Q(FO_Q_GEN_HELD_INV + g));
    }
    return tk;
}

// policy rule 0 at the start of quarter t (Liquidity.orders): defer the order, or cancel the one deferred into t
FO_DEVICE fo_taken fo_orders(FO_PARAMS, long long p, long long s, int t, fo_bits flags, const double* q,
                             const fo_scenario_quarter* sq, fo_state* st)
{
    double now[FO_G > 0 ? FO_G : 1];
#pragma unroll
    for (int g = 0; g < FO_G; ++g) now[g] = st->missing[g];
    double capex = st->due;
    const double share_in = st->order_share_due;
    double draws_cancelled = 0.0;
    if (defer_orders) {
        fo_order_due next;
        next.price = next.deposit = 0.0;
#pragma unroll
        for (int g = 0; g < FO_G; ++g) next.gpus[g] = 0.0;
        double gap = fo_order_gap(FO_ARGS, p, s, t, flags, q, sq, st);
        const double share_out = fo_defer_order(FO_ARGS, p, s, q, st, &gap, &capex, now, &next);
        draws_cancelled = fo_cancel_order(FO_ARGS, p, s, t, q, st, gap, share_in, share_out, &capex, now);
        st->due = next.price;
        st->due_deposit = next.deposit;
        st->order_share_due = share_out;
#pragma unroll
        for (int g = 0; g < FO_G; ++g) st->due_gpus[g] = next.gpus[g];
    }
    return fo_taken_now(q, now, capex, share_in - draws_cancelled);
}

// GPUs of contracts that ended early, offered on their use's market this quarter (the policy's
// freed capacity): H100-equivalent supply, GPUs and forecast-price revenue by use and generation
typedef struct {
    double supply[2], gpus[2];
    double revenue[FO_G > 0 ? FO_G : 1][2];  // by generation, then use
} fo_freed;

FO_DEVICE void fo_freed_clear(fo_freed* f)
{
#pragma unroll
    for (int u = 0; u < 2; ++u) {
        f->supply[u] = f->gpus[u] = 0.0;
#pragma unroll
        for (int g = 0; g < FO_G; ++g) f->revenue[g][u] = 0.0;
    }
}

// a quantity's sites (row x, a site every FO_T) weighted by the share of each without power, 1 - ph[i],
// in site order (layout.unpowered); only the short sites: the others' shares are 1, their terms 0.0
FO_DEVICE double fo_unpowered(const double* x, const double* ph, fo_bits short_sites)
{
    double lost = 0.0;
#pragma unroll
    for (int i = 0; i < FO_I; ++i)
        if ((short_sites >> i) & 1ULL) lost = lost + (1.0 - ph[i]) * FO_LOAD(x + i * FO_T);
    return lost;
}

// in a short quarter, what the GPUs taken out of a generation remove of its market supply or GPUs in a
// use: their `share` of what of the `forecast`'s is powered (the use's site shares `phu`, those of the
// GPUs left, at the `short_sites`; `site` the generation's row of gmsup or gmcnt; operations._taken_out)
FO_DEVICE double fo_taken_out(double share, double forecast, const double* phu, const double* site,
                              fo_bits short_sites)
{
    return share * fo_max(forecast - fo_unpowered(site, phu, short_sites), 0.0);
}

// a market's revenue at forecast prices with freed capacity (policy), less that of the plan's own
// market GPUs taken out: their share of each generation's powered revenue `base` (the forecast's where
// fully powered), floored at 0 per generation (operations._market)
FO_DEVICE double fo_market_revenue(const double* base, const fo_freed* f, int u, fo_bits flags,
                                   const double* at_price, const fo_taken* tk)
{
    double revenue = 0.0;
#pragma unroll
    for (int g = 0; g < FO_G; ++g)
        if ((flags >> (FO_F_SOLD + u * FO_G + g)) & 1ULL)
            revenue = revenue + (fo_max(base[g] - tk->market[g] * base[g], 0.0) + f->revenue[g][u]) * at_price[g];
    return revenue;
}

// a market's sales with freed capacity (policy): the `revenue` (fo_market_revenue), `supply` and `gpus`
// (less the GPUs taken out) plus the freed GPUs', capped by demand; the same sums and scale as
// operations._market. Returns the revenue; adds the GPUs sold to *sold and the demand served to *served,
// and sets *excess (NULL: not kept) to the demand they leave (for the idle GPUs, policy rule 5).
FO_DEVICE double fo_market_with_freed(double revenue, double supply, double gpus, const fo_freed* f, int u,
                                      double cap, double* sold, double* served, double* excess)
{
    supply = fo_max(supply + f->supply[u], 0.0);
    gpus = fo_max(gpus + f->gpus[u], 0.0);
    const double scale = fo_min(cap, supply) / fo_max(supply, FO_TINY);
    const double sold_supply = supply * scale;
    *sold = *sold + gpus * scale;
    *served = *served + sold_supply;
    if (excess) *excess = fo_max(cap - sold_supply, 0.0);
    return revenue * scale;
}

// the plan holds idle GPUs in quarter t and the policy offers them (policy rule 5)
#define FO_IDLE(p, t) (FO_IDLE_RULE && ((FO_LOAD(plan_idle + (p)) >> (t)) & 1ULL))
// where policy rule 5 keeps the demand use u's sales leave in quarter t (NULL: the plan holds no idle
// GPUs then): one of two of the pair's output slots written only after its last quarter, as two more
// registers carried through the market's loop spill the state on sm_90 (tests/test_kernel_compile.py).
// Needs p, s, S and t in scope.
#define FO_EXCESS(u) \
    (FO_IDLE(p, t) ? ((u) == 0 ? out_quarters_before_breach : out_quarters_before_default) + p * S + s : (double*)0)

// the liquidity rules are on (evaluate/liquidity.py): GPUs may be taken out of the plan
#define FO_LIQUIDITY (defer_orders || distress_sales)
// the policy's demand cap (operations._market `safe`): freed capacity or GPUs taken out change the offer per pair
#define FO_SAFE_CAP (freed_to_market || FO_LIQUIDITY || FO_IDLE_RULE)

// electricity and opex less those of the GPUs taken out (market GPUs draw power, held ones cost opex)
FO_DEVICE void fo_take_costs(const fo_taken* tk, const double* q, double* electricity, double* fixed)
{
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        *electricity = *electricity - tk->market[g] * FO_Q(FO_Q_GEN_MARKET_ELECTRICITY + g);
        *fixed = *fixed - tk->held[g] * FO_Q(FO_Q_GEN_OPEX + g);
    }
}

// the market MW of use u at site i the GPUs taken out would have drawn: each generation's taken share of
// its GPUs' MW there, in generation order (operations.power_left)
FO_DEVICE double fo_taken_mw(FO_PARAMS, long long p, int t, int i, int u, const fo_taken* tk)
{
    double mw = 0.0;
#pragma unroll
    for (int g = 0; g < FO_G; ++g)
        mw = mw + tk->market[g] * FO_LOAD(gmmw + (((p * 2 + u) * FO_G + g) * FO_I + i) * FO_T + t);
    return mw;
}

// the powered share of each site's GPUs of one class in a short quarter: the whole draw
// (FO_SHARE_DRAW: the MW online over the MW planned), or, with the contracts-first rule, the
// contracted GPUs, then the inference market's, then the training market's in that order (without
// it every class gets the draw's share); 1 at a site that is not short (simulate: PowerShortfall).
// With the liquidity rules (FO_LIQUIDITY), the GPUs the policy took out (`tk`) need no power: the
// classes' shares are those of the GPUs left (PowerShortfall.after_taken; the draw's share is the
// planned draw's)
#define FO_SHARE_CONTRACTS 0
#define FO_SHARE_INFERENCE 1
#define FO_SHARE_TRAINING 2
#define FO_SHARE_DRAW 3
FO_DEVICE void fo_site_shares(FO_PARAMS, long long p, int t, int cls, const double* online, fo_bits short_sites,
                              const fo_taken* tk, double* share)
{
#pragma unroll
    for (int i = 0; i < FO_I; ++i) {
        share[i] = 1.0;
        if (!((short_sites >> i) & 1ULL)) continue;
        const long long pit = (p * FO_I + i) * FO_T + t;
        if (cls == FO_SHARE_DRAW || !contracts_first) {
            double d = FO_LOAD(drawn + pit);
            if (cls != FO_SHARE_DRAW && FO_LIQUIDITY) d = (d - fo_taken_mw(FO_ARGS, p, t, i, 0, tk)) - fo_taken_mw(FO_ARGS, p, t, i, 1, tk);
            share[i] = fo_clip(online[i] / (d > 0 ? d : 1.0), 0.0, 1.0);
            continue;
        }
        double left = fo_max(online[i], 0.0);
        for (int j = 0; j <= cls; ++j) {
            double need = j == 0 ? FO_LOAD(cmw + pit) : FO_LOAD(mmw + ((p * 2 + (2 - j)) * FO_I + i) * FO_T + t);
            if (j > 0 && FO_LIQUIDITY) need = fo_max(need - fo_taken_mw(FO_ARGS, p, t, i, 2 - j, tk), 0.0);
            share[i] = fo_min(left / (need > 0 ? need : 1.0), 1.0);
            left = fo_max(left - need, 0.0);
        }
    }
}

// the MW late in quarter t at each site (`at` < 0; into late[i], added to what it holds) or at site
// `at` only (into late[0]): the power blocks late in this scenario, then the late increases of the
// site's contracted capacity due in quarters 1 .. t (each site's in quarter order, the order the array
// code adds them: layout.PowerShortfall._late_mw)
FO_DEVICE void fo_late_mw(FO_PARAMS, long long p, long long s, int t, int at, double* late)
{
    for (int b = 0; b < FO_B; ++b) {
        const long long pb = p * FO_B + b;
        const double mw = FO_LOAD(build_mw + pb);
        const int from = FO_LOAD(build_online + pb);
        if (!(mw > 0.0) || t < from) continue;
        const int site = FO_LOAD(build_site + pb);
        if (at >= 0 && site != at) continue;
        const int until = from + FO_SCEN(delay, site * FO_T + FO_LOAD(build_start + pb), s);
        if (t < until) {
            if (at >= 0) {
                late[0] += mw;
                continue;
            }
#pragma unroll
            for (int i = 0; i < FO_I; ++i)
                if (site == i) late[i] += mw;
        }
    }
#pragma unroll
    for (int i = 0; i < FO_I; ++i) {
        if (at >= 0 && i != at) continue;
        for (fo_bits due = FO_LOAD(step_bits + i) & fo_quarters(1, t + 1); due; due &= due - 1ULL) {
            const int u = FO_CTZ(due);
            if (t < u + FO_SCEN(step_delay, i * FO_T + u, s)) late[at >= 0 ? 0 : i] += FO_LOAD(step_mw + i * FO_T + u);
        }
    }
}

// a quantity's sites (row x, a site every FO_T) each times its share, summed in site order
// (layout.over_sites)
FO_DEVICE double fo_over_sites(const double* x, const double* share)
{
    double total = FO_LOAD(x) * share[0];
#pragma unroll
    for (int i = 1; i < FO_I; ++i) total = total + FO_LOAD(x + i * FO_T) * share[i];
    return total;
}

// quarter step 1 on a short quarter (layout.PowerShortfall): each site's MW online, the plan's less those
// late in this scenario, into online[i], and the fixed site cost of the late MW into *fixed_saved. Returns
// the sites short of power: those drawing more than is online
FO_DEVICE fo_bits fo_power_online(FO_PARAMS, long long p, long long s, int t, double* online, double* fixed_saved)
{
    fo_bits short_sites = 0ULL;
#pragma unroll
    for (int i = 0; i < FO_I; ++i) online[i] = 0.0;
    fo_late_mw(FO_ARGS, p, s, t, -1, online);
    double saved = 0.0;
#pragma unroll
    for (int i = 0; i < FO_I; ++i) {
        const long long pit = (p * FO_I + i) * FO_T + t;
        saved += FO_LOAD(fixed_cost_per_mw + i) * online[i];  // online[i] holds the late MW here
        online[i] = FO_LOAD(online_plan + pit) - online[i];
        const double d = FO_LOAD(drawn + pit);
        if (d > online[i] * (1.0 + FO_REL) + FO_REL) short_sites |= 1ULL << i;
    }
    *fixed_saved = saved;
    return short_sites;
}

// what a quarter's contracts earn, pay in penalties and deliver (GPUs) (contract_book.contracts_quarter)
typedef struct {
    double revenue, penalty, gpus;
} fo_delivered;

// contract k delivered short at or after its deadline (contract_book._late_delivery): late (policy rule 2,
// reschedule_late_contracts: it earns on what is delivered) while its late quarters are within its delay
// allowance, else cancelled (it leaves *live). Returns the penalty it pays this quarter
FO_DEVICE double fo_late_delivery(FO_PARAMS, int k, fo_bits* live, fo_state* st)
{
    if (reschedule && !(fo_late_add(st->late, k) > FO_LOAD(delay_allowance + k))) {
        st->reacted |= FO_REACTED_RESCHEDULED;
        return FO_LOAD(delay_penalty + k);
    }
    *live &= ~(1ULL << k);
    st->reacted |= FO_REACTED_CANCELLED;
    return FO_LOAD(contract_penalty + k);
}

// quarter step 2 on a short quarter (contract_book.contracts_quarter): each contract still live is delivered its planned
// GPUs at each site times the site's contract share (phc); short after its deadline (of the plan's GPUs, or
// of the contract's where the plan serves it with fewer: plan_owed) it is late or cancelled
FO_DEVICE fo_delivered fo_short_contracts(FO_PARAMS, long long p, long long s, int t, const double* q,
                                          const double* phc, fo_bits* live, fo_state* st)
{
    fo_delivered out;
    out.revenue = out.penalty = out.gpus = 0.0;
    const fo_bits owed = FO_LOAD(plan_owed + p * FO_T + t);
    // the contracts still live: a customer that defaults this quarter ends its contracts without penalty
    fo_bits serving = *live & (FO_LOAD(plan_served + p * FO_T + t) | owed);
    while (serving) {
        const int k = FO_CTZ(serving);
        serving &= serving - 1ULL;
        const double delivered = fo_over_sites(cgpu + (p * FO_K + k) * (long long)FO_I * FO_T + t, phc);
        if (t >= FO_LOAD(contract_deadline + k)) {
            const double planned = ((owed >> k) & 1ULL) ? FO_LOAD(contract_size + k) : FO_Q(FO_Q_CONTRACT_TOTAL + k);
            if (delivered < planned * (1.0 - FO_REL) - FO_REL) out.penalty += fo_late_delivery(FO_ARGS, k, live, st);
        }
        if ((*live >> k) & 1ULL) {  // a scale-back is paid on the share kept; lateness is judged on the whole
            const double taken = FO_TIMES(delivered, FO_KEPT(k, t));
            out.revenue += FO_LOAD(contract_revenue_per_gpu + k) * taken;
            out.gpus += taken;
        }
    }
    return out;
}

// the share of contract k's planned GPUs freed in quarter t (contract_book._free): all of them where it has
// ended (not in `live`), the part its customer cut where it scaled it back; 1.0 without a scale-back
#if FO_SCALE_BACK
FO_DEVICE double fo_freed_share(FO_PARAMS, long long s, int t, int k, fo_bits live)
{
    return ((live >> k) & 1ULL) ? 1.0 - FO_KEPT(k, t) : 1.0;
}
#endif

// freed capacity on a short quarter (policy rule 2, freed_gpus_to_market; contract_book._free): the planned GPUs
// of each contract the plan serves this quarter that has ended, at the contracts' power share (phc)
FO_DEVICE void fo_short_freed(FO_PARAMS, long long p, long long s, int t, const double* phc, fo_bits live,
                              fo_freed* fr, fo_state* st)
{
    const fo_bits planned = FO_LOAD(plan_served + p * FO_T + t);
    fo_bits ended = FO_SCALE_BACK ? planned : planned & ~live;  // with a scale-back, the part cut of a live one too
    while (ended) {
        const int k = FO_CTZ(ended);
        ended &= ended - 1ULL;
#if FO_SCALE_BACK  // without one every contract here has ended: all its GPUs freed, nothing to test
        const double share = fo_freed_share(FO_ARGS, s, t, k, live);
        if (!(share > 0.0)) continue;
#endif
        const int u = FO_LOAD(contract_use + k);
        // each pointer made apart: one offset for both keeps a 64-bit value live (spills on sm_100)
        FO_ADD_USE(fr->gpus, u, FO_TIMES(fo_over_sites(cgpu + (p * FO_K + k) * (long long)FO_I * FO_T + t, phc), share));
        FO_ADD_USE(fr->supply, u, FO_TIMES(fo_over_sites(fsup + (p * FO_K + k) * (long long)FO_I * FO_T + t, phc), share));
#pragma unroll
        for (int g = 0; g < FO_G; ++g)
            FO_ADD_USE(fr->revenue[g], u,
                       FO_TIMES(fo_over_sites(frev + ((p * FO_K + k) * FO_G + g) * (long long)FO_I * FO_T + t, phc), share));
    }
    if (fr->gpus[0] + fr->gpus[1] > 0.0) st->reacted |= FO_REACTED_FREED;
}

// the offer of use u on a short quarter less the GPUs the policy took out: their share of what of each
// generation is powered (operations._taken_out), taken from *supply (H100-equivalent) and *gpus
FO_DEVICE void fo_less_taken_out(FO_PARAMS, long long p, int t, int u, const double* q, const double* phu,
                                 fo_bits short_sites, const fo_taken* tk, double* supply, double* gpus)
{
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        const long long at = ((p * 2 + u) * FO_G + g) * (long long)FO_I * FO_T + t;
        *supply = *supply - fo_taken_out(tk->market[g], FO_Q(FO_Q_GEN_MARKET_SUPPLY + u * FO_G + g), phu,
                                         gmsup + at, short_sites);
        *gpus = *gpus - fo_taken_out(tk->market[g], FO_Q(FO_Q_GEN_MARKET_COUNT + u * FO_G + g), phu,
                                     gmcnt + at, short_sites);
    }
}

// each generation's revenue of use u at forecast prices on a short quarter (its sites' each times the use's
// share there, phu) into base[g], and the scenario's price factor into price[g]; 0 for a generation the
// plan does not sell in u
FO_DEVICE void fo_short_offered_revenue(FO_PARAMS, long long p, long long s, int t, int u, fo_bits flags,
                                        const double* phu, const fo_scenario_quarter* sq, double* base, double* price)
{
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        base[g] = price[g] = 0.0;
        if (!((flags >> (FO_F_SOLD + u * FO_G + g)) & 1ULL)) continue;
        base[g] = fo_over_sites(mrev + ((p * 2 + u) * FO_G + g) * (long long)FO_I * FO_T + t, phu);
        price[g] = FO_SQ(price[g], price_factor, g * FO_T + t);
    }
}

// quarter step 3 on a short quarter (operations._market): each use's offer at its power share, with the freed
// capacity (fr), capped by the scenario's demand (fo_market_with_freed where the policy changes the offer per
// pair, else scaled down to the demand). Returns the revenue; adds the GPUs sold to *sold_gpus and the
// demand served to the pair's (added up where it is written: carried as state it would spill)
FO_DEVICE double fo_short_market(FO_PARAMS, long long p, long long s, int t, const double* q, fo_bits flags,
                                 const double* online, fo_bits short_sites, const fo_taken* tk, const fo_freed* fr,
                                 const fo_scenario_quarter* sq, double* sold_gpus)
{
    double market_revenue = 0.0;
    double* served = out_demand_served + p * S + s;
#pragma unroll
    for (int u = 0; u < 2; ++u) {
        if (!((flags >> (FO_F_MARKET + u)) & 1ULL)) continue;
        double phu[FO_I > 0 ? FO_I : 1];
        fo_site_shares(FO_ARGS, p, t, u == 1 ? FO_SHARE_INFERENCE : FO_SHARE_TRAINING, online, short_sites, tk,
                       phu);
        const double* su = msup + (p * 2 + u) * (long long)FO_I * FO_T + t;
        const double* gu = mgpu + (p * 2 + u) * (long long)FO_I * FO_T + t;
        double supply = FO_LOAD(su) * phu[0], gpus = FO_LOAD(gu) * phu[0];
#pragma unroll
        for (int i = 1; i < FO_I; ++i) {  // fo_over_sites twice in one loop: two calls spill on sm_100
            supply = supply + FO_LOAD(su + i * FO_T) * phu[i];
            gpus = gpus + FO_LOAD(gu + i * FO_T) * phu[i];
        }
        if (FO_LIQUIDITY) fo_less_taken_out(FO_ARGS, p, t, u, q, phu, short_sites, tk, &supply, &gpus);
        double base[FO_G > 0 ? FO_G : 1], price[FO_G > 0 ? FO_G : 1];
        fo_short_offered_revenue(FO_ARGS, p, s, t, u, flags, phu, sq, base, price);
        const double cap = FO_SQ(demand[u], demand, u * FO_T + t);
        if (FO_SAFE_CAP) {
            const double revenue = fo_market_revenue(base, fr, u, flags, price, tk);
            market_revenue = market_revenue + fo_market_with_freed(revenue, supply, gpus, fr, u, cap, sold_gpus,
                                                                   served, FO_EXCESS(u));
            continue;
        }
        double revenue = 0.0;
#pragma unroll
        for (int g = 0; g < FO_G; ++g)
            if ((flags >> (FO_F_SOLD + u * FO_G + g)) & 1ULL) revenue = revenue + base[g] * price[g];
        const double scale = supply > cap ? cap / (supply > 0 ? supply : 1.0) : 1.0;
        market_revenue = market_revenue + revenue * scale;
        *sold_gpus = *sold_gpus + gpus * scale;
        *served = *served + supply * scale;
    }
    return market_revenue;
}

// the electricity of the GPUs taken out that had no power, at most each short site's unpowered draw, added
// to `electricity` (MWh at forecast prices, e: the plan's row of them by site): a site draws its MW online,
// or its draw less the GPUs taken out where that is less (operations._unpowered_taken)
FO_DEVICE double fo_unpowered_taken(FO_PARAMS, long long p, int t, const double* e, const double* phi,
                                    fo_bits short_sites, const fo_taken* tk, double electricity)
{
#pragma unroll
    for (int i = 0; i < FO_I; ++i) {
        if (!((short_sites >> i) & 1ULL)) continue;
        double out_mwh = 0.0;
#pragma unroll
        for (int u = 0; u < 2; ++u)
#pragma unroll
            for (int g = 0; g < FO_G; ++g)
                out_mwh = out_mwh + tk->market[g] * FO_LOAD(gmelec + (((p * 2 + u) * FO_G + g) * FO_I + i) * FO_T + t);
        electricity = electricity + fo_min(out_mwh, (1.0 - phi[i]) * FO_LOAD(e + i * FO_T));
    }
    return electricity;
}

// quarter step 4 on a short quarter: the electricity (returned) of each site's draw times its powered share,
// less that of the GPUs taken out, at the scenario's price; the fixed costs less the late MW's (fixed_saved)
// and the GPUs taken out's opex into *fixed
FO_DEVICE double fo_short_costs(FO_PARAMS, long long p, long long s, int t, const double* q, const double* online,
                                fo_bits short_sites, double fixed_saved, const fo_taken* tk,
                                const fo_scenario_quarter* sq, double* fixed)
{
    double phi[FO_I > 0 ? FO_I : 1];
    fo_site_shares(FO_ARGS, p, t, FO_SHARE_DRAW, online, short_sites, tk, phi);
    const double* e = elec + p * FO_I * (long long)FO_T + t;
    double electricity = fo_over_sites(e, phi);
    *fixed = FO_Q(FO_Q_FIXED_COSTS) - fixed_saved;
    fo_take_costs(tk, q, &electricity, fixed);
    if (FO_LIQUIDITY) electricity = fo_unpowered_taken(FO_ARGS, p, t, e, phi, short_sites, tk, electricity);
    return electricity * FO_SQ(ef, electricity_factor, t);
}

// the quarter of a pair for which some site may be short of power (a block late in this scenario,
// or the plan drawing more than it planned online): each site's draw is scaled by its powered
// share phi; with the policy's contracts-first rule the powered MW go to the contracted GPUs, then
// the inference market's, then the training market's (phc, phu), otherwise every use gets phi.
// A contract short of its plan at or after its deadline is cancelled (open loop) or late (policy).
// Updates `live` (contracts still served) and the pair's policy state. The same numbers as
// simulate.py's per-site path, quarter steps 1-4 in their order. The shares are made from the MW online
// where needed (fo_site_shares), to keep few values live
FO_DEVICE fo_operations fo_short_quarter(FO_PARAMS, long long p, long long s, int t, const double* q,
                                         fo_bits flags, fo_bits* live, fo_state* st,
                                         const fo_taken* tk, const fo_scenario_quarter* sq)
{
    double online[FO_I > 0 ? FO_I : 1], phc[FO_I > 0 ? FO_I : 1], fixed_saved;
    const fo_bits short_sites = fo_power_online(FO_ARGS, p, s, t, online, &fixed_saved);
    fo_site_shares(FO_ARGS, p, t, FO_SHARE_CONTRACTS, online, short_sites, tk, phc);
    const fo_delivered contracts = fo_short_contracts(FO_ARGS, p, s, t, q, phc, live, st);
    fo_freed fr;
    fo_freed_clear(&fr);
    if (freed_to_market) fo_short_freed(FO_ARGS, p, s, t, phc, *live, &fr, st);
    double sold_gpus = 0.0;
    const double market_revenue = fo_short_market(FO_ARGS, p, s, t, q, flags, online, short_sites, tk, &fr, sq,
                                                  &sold_gpus);
    double fixed;
    const double electricity = fo_short_costs(FO_ARGS, p, s, t, q, online, short_sites, fixed_saved, tk, sq, &fixed);
    fo_operations out;
    out.ebitda = market_revenue + contracts.revenue - electricity - fixed - contracts.penalty;
    out.gpus_used = sold_gpus + contracts.gpus;
#if FO_PRESENT_COST
    out.opex = (electricity + fixed) + contracts.penalty;
#endif
    return out;
}

// the freed capacity of a fully powered quarter (policy): the plan's totals for each contract it
// planned this quarter that has ended in this pair
FO_DEVICE void fo_powered_freed(FO_PARAMS, long long p, long long s, int t, const double* q, fo_bits live,
                                fo_freed* fr, fo_state* st)
{
    const fo_bits planned = FO_LOAD(plan_served + p * FO_T + t);
    fo_bits ended = FO_SCALE_BACK ? planned : planned & ~live;  // with a scale-back, the part cut of a live one too
    while (ended) {
        const int k = FO_CTZ(ended);
        ended &= ended - 1ULL;
#if FO_SCALE_BACK  // without one every contract here has ended: all its GPUs freed, nothing to test
        const double share = fo_freed_share(FO_ARGS, s, t, k, live);
        if (!(share > 0.0)) continue;
#endif
        const int u = FO_LOAD(contract_use + k);
        FO_ADD_USE(fr->supply, u, FO_TIMES(FO_Q(FO_Q_FREED_SUPPLY + k), share));
        FO_ADD_USE(fr->gpus, u, FO_TIMES(FO_Q(FO_Q_CONTRACT_TOTAL + k), share));
#pragma unroll
        for (int g = 0; g < FO_G; ++g)
            FO_ADD_USE(fr->revenue[g], u, FO_TIMES(FO_Q(FO_Q_FREED_REVENUE + k * FO_G + g), share));
    }
    if (fr->gpus[0] + fr->gpus[1] > 0.0) st->reacted |= FO_REACTED_FREED;
}

// quarter step 2 on a fully powered quarter: each contract still live is delivered the plan's GPUs and earns
// its revenue at full delivery (none is late or cancelled); no penalty
FO_DEVICE fo_delivered fo_powered_contracts(FO_PARAMS, long long p, long long s, int t, const double* q,
                                            fo_bits live)
{
    fo_delivered out;
    out.revenue = out.penalty = out.gpus = 0.0;
    const fo_bits serving = live & FO_LOAD(plan_served + p * FO_T + t);
#if FO_SCALE_BACK
    // each contract on the share its customer keeps, its revenue as NumPy's (per GPU times the GPUs taken)
    for (fo_bits left = serving; left; left &= left - 1ULL) {
        const int k = FO_CTZ(left);
        const double taken = FO_Q(FO_Q_CONTRACT_TOTAL + k) * FO_KEPT(k, t);
        out.revenue += FO_LOAD(contract_revenue_per_gpu + k) * taken;
        out.gpus += taken;
    }
#elif FO_GPU_CODE
    fo_bits left = serving;
    while (left) {
        const int k = FO_CTZ(left);
        left &= left - 1ULL;
        out.revenue += FO_Q(FO_Q_CONTRACT_REVENUE + k);
        out.gpus += FO_Q(FO_Q_CONTRACT_TOTAL + k);
    }
#else
    // without branches (a contract's end is unpredictable): adding 0.0 for the others changes no bits
    if (serving) {
        for (int k = 0; k < FO_K; ++k) {
            const int on = (int)((serving >> k) & 1ULL);
            out.revenue += on ? FO_Q(FO_Q_CONTRACT_REVENUE + k) : 0.0;
            out.gpus += on ? FO_Q(FO_Q_CONTRACT_TOTAL + k) : 0.0;
        }
    }
#endif
    return out;
}

// quarter step 3 on a fully powered quarter where the policy changes the offer per pair (FO_SAFE_CAP): the
// plan's offer less the GPUs taken out, with the freed capacity (policy rule 2), capped by the scenario's
// demand (fo_market_with_freed). Returns the revenue; adds the GPUs sold to *sold_gpus and the demand
// served to the pair's
FO_DEVICE double fo_powered_market_per_pair(FO_PARAMS, long long p, long long s, int t, const double* q,
                                            fo_bits flags, fo_bits live, fo_state* st, const fo_taken* tk,
                                            const fo_scenario_quarter* sq, double* sold_gpus)
{
    double market_revenue = 0.0;
    double* served = out_demand_served + p * S + s;
    fo_freed fr;
    fo_freed_clear(&fr);
    if (freed_to_market) fo_powered_freed(FO_ARGS, p, s, t, q, live, &fr, st);
#pragma unroll
    for (int u = 0; u < 2; ++u) {
        if (!((flags >> (FO_F_MARKET + u)) & 1ULL)) continue;
        double base[FO_G > 0 ? FO_G : 1], price[FO_G > 0 ? FO_G : 1];
#pragma unroll
        for (int g = 0; g < FO_G; ++g) {
            const int sold = (int)((flags >> (FO_F_SOLD + u * FO_G + g)) & 1ULL);
            base[g] = sold ? FO_Q(FO_Q_MARKET_REVENUE + u * FO_G + g) : 0.0;
            price[g] = sold ? FO_SQ(price[g], price_factor, g * FO_T + t) : 0.0;
        }
        const double cap = FO_SQ(demand[u], demand, u * FO_T + t);
        double supply = FO_Q(FO_Q_SUPPLY + u), gpus = FO_Q(FO_Q_MARKET_GPUS + u);
#pragma unroll
        for (int g = 0; g < FO_G; ++g) {
            // the forecast floored at 0, as fo_taken_out's (operations._taken_out): round-off removes nothing
            supply = supply - tk->market[g] * fo_max(FO_Q(FO_Q_GEN_MARKET_SUPPLY + u * FO_G + g), 0.0);
            gpus = gpus - tk->market[g] * fo_max(FO_Q(FO_Q_GEN_MARKET_COUNT + u * FO_G + g), 0.0);
        }
        const double revenue = fo_market_revenue(base, &fr, u, flags, price, tk);
        market_revenue = market_revenue + fo_market_with_freed(revenue, supply, gpus, &fr, u, cap, sold_gpus,
                                                               served, FO_EXCESS(u));
    }
    return market_revenue;
}

// quarter step 3 on a fully powered quarter of the open loop (every pair offers the plan's): the plan's
// offer, scaled down to the scenario's demand where that binds. Returns the revenue; adds the GPUs sold to
// *sold_gpus and the demand served to the pair's
FO_DEVICE double fo_powered_market_planned(FO_PARAMS, long long p, long long s, int t, const double* q,
                                           fo_bits flags, const fo_scenario_quarter* sq, double* sold_gpus)
{
    double market_revenue = 0.0;
    double* served = out_demand_served + p * S + s;
#pragma unroll
    for (int u = 0; u < 2; ++u) {
        if (!((flags >> (FO_F_MARKET + u)) & 1ULL)) continue;
        double revenue = 0.0;
#pragma unroll
        for (int g = 0; g < FO_G; ++g)
            if ((flags >> (FO_F_SOLD + u * FO_G + g)) & 1ULL)
                revenue = revenue + FO_Q(FO_Q_MARKET_REVENUE + u * FO_G + g) * FO_SQ(price[g], price_factor, g * FO_T + t);
        double gpus = FO_Q(FO_Q_MARKET_GPUS + u), supply = FO_Q(FO_Q_SUPPLY + u);
        const double cap = FO_SQ(demand[u], demand, u * FO_T + t);
#if FO_GPU_CODE
        if (supply > cap) {  // demand binds: sales scaled down to it
            const double scale = cap / FO_Q(FO_Q_SUPPLY_SAFE + u);
            revenue = revenue * scale;
            gpus = gpus * scale;
            supply = supply * scale;
        }
#else
        // without a branch (whether demand binds is unpredictable): x * 1.0 is x
        const double ratio = cap / FO_Q(FO_Q_SUPPLY_SAFE + u);
        const double scale = supply > cap ? ratio : 1.0;
        revenue = revenue * scale;
        gpus = gpus * scale;
        supply = supply * scale;
#endif
        market_revenue = market_revenue + revenue;
        *sold_gpus = *sold_gpus + gpus;
        *served = *served + supply;
    }
    return market_revenue;
}

// a fully powered quarter: the plan's site totals, no cancellation (every contract is delivered); quarter
// steps 2-4 in their order (step 1 has nothing to do)
FO_DEVICE fo_operations fo_powered_quarter(FO_PARAMS, long long p, long long s, int t, const double* q,
                                           fo_bits flags, fo_bits live, fo_state* st, const fo_taken* tk,
                                           const fo_scenario_quarter* sq)
{
    const fo_delivered contracts = fo_powered_contracts(FO_ARGS, p, s, t, q, live);
    double sold_gpus = 0.0;
    const double market_revenue =
        FO_SAFE_CAP ? fo_powered_market_per_pair(FO_ARGS, p, s, t, q, flags, live, st, tk, sq, &sold_gpus)
                    : fo_powered_market_planned(FO_ARGS, p, s, t, q, flags, sq, &sold_gpus);
    double electricity = FO_Q(FO_Q_ELECTRICITY), fixed = FO_Q(FO_Q_FIXED_COSTS);
    fo_take_costs(tk, q, &electricity, &fixed);
    fo_operations out;
    out.ebitda = market_revenue + contracts.revenue - electricity * FO_SQ(ef, electricity_factor, t) - fixed;
    out.gpus_used = sold_gpus + contracts.gpus;
#if FO_PRESENT_COST
    out.opex = electricity * FO_SQ(ef, electricity_factor, t) + fixed;
#endif
    return out;
}

#if FO_W > 1  // a one-quarter window tests the quarter's own flows (unreferenced, NVRTC warns)
// the mean of a window of flows kept oldest first, the quarters not yet seen held as +0.0 at the
// front (adding them changes no bits): the same sum and division as core.covenants.window_mean
FO_DEVICE double fo_window_mean(const double* kept, int n)
{
    double total = kept[0];
#pragma unroll
    for (int j = 1; j < FO_W; ++j) total = total + kept[j];
    // x / n is x * (1 / n) exactly when n is a power of two
    return n == 1 ? total : n == 2 ? total * 0.5 : n == 4 ? total * 0.25 : total / (double)n;
}
#endif

// the share of the plan's own sale of generation g this quarter the pair cannot make: the GPUs it
// lacks are those the plan keeps, first; after the sale it lacks at most those kept less the GPUs
// deferred to the next quarter (Liquidity.planned_sales_cut)
FO_DEVICE double fo_planned_sales_cut(const double* q, int g, fo_state* st)
{
    const double held = FO_Q(FO_Q_GEN_HELD + g), sold = FO_Q(FO_Q_GEN_RETIRED_GPUS + g);
    const double gone = st->missing[g] + st->due_gpus[g];
    const double cut = fo_min(gone, held + sold) - fo_min(gone, held);
    if (sold > 0) st->missing[g] = fo_min(st->missing[g], fo_max(held - st->due_gpus[g], 0.0));
    return cut / fo_positive(sold);
}

// distress sales after the quarter's financing (Liquidity.sell): market GPUs, oldest generation
// first, in lots of sale_lot GPUs at the scenario's resale value less the policy's discount
// (resale: the factor times sale_share), until cash is back at the default level (default_cash);
// the gain or loss is taxed the next quarter; the proceeds are added in the pair's output slot
// out_distress_sold_usd. Returns the cash after the sales.
FO_DEVICE double fo_sell(FO_PARAMS, long long p, long long s, const double* q, double cash, double resale,
                         fo_state* st)
{
    double* sold_usd = out_distress_sold_usd + p * S + s;
    double gap = default_cash - cash;
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        if (!(gap > 0.0)) break;
        // not the GPUs sold or cancelled before, nor those this quarter's order deferred (Liquidity.not_held)
        const double available = fo_max(FO_Q(FO_Q_GEN_SELLABLE + g) - (st->missing[g] + st->due_gpus[g]), 0.0);
        // none left to sell (a pair in default asks every quarter): adding the 0 sold changes nothing
        if (!(available > 0.0)) continue;
        const double held = FO_Q(FO_Q_GEN_HELD + g);
        const double value = fo_sale_value_per_gpu(q, g, resale);
        const double book = FO_Q(FO_Q_GEN_BOOK + g) / fo_positive(held);
        const double lots = ceil(fo_max(gap, 0.0) / fo_positive(sale_lot * value));
        const double sold = fo_min(lots * sale_lot, available) * (value > 0 ? 1.0 : 0.0);
        const double proceeds = sold * value;
        cash = cash + proceeds;
        *sold_usd = *sold_usd + proceeds;
        gap = gap - proceeds;
        st->missing[g] = st->missing[g] + sold;
        st->carried_gain = st->carried_gain + sold * (value - book);
        if (sold > 0) st->reacted |= FO_REACTED_SOLD;
    }
    return cash;
}

// fo_state.breach after a quarter whose tests miss the covenants ``missed`` (kind_bit mask, 0: none):
// the first breach kept, and a breach cured while cures are left, the quarter before was not cured
// too and no liquidity default came (``defaulted``: in this quarter or before), else an uncured
// breach (core.covenants.CureRights); with FO_CASH_COVERS a breach whose quarter's cash covers its debt
// (``covered``) is repaid: to the cure rights a quarter without one
FO_DEVICE int fo_cure(int breach, int missed, int allowed, int defaulted, int covered)
{
    if (!missed) return breach & ~FO_CURED_LAST;
    if (!(breach & FO_FIRST_BREACH)) breach |= missed;
#if FO_CASH_COVERS
    if (covered) return breach & ~FO_CURED_LAST;
#endif
    if (defaulted || (breach & FO_CURED_LAST) || (breach & FO_CURES_USED) >= allowed * FO_CURE_ONE)
        return breach | FO_UNCURED;
    return (breach + FO_CURE_ONE) | FO_CURED_LAST;
}

// one covenant test (a row of core.covenants.coefficient_table, its layout fixed at compile time),
// tested from quarter `from` to quarter `until`
#define FO_TEST(r, x, y, when, is_max, a_one, b_one, bit, from, until)                                      \
    if (t >= (from) && t <= (until)) {                                                                 \
        const double greater_ = (a_one) ? value[x] : FO_LOAD(covenant_coef + 2 * (r)) * value[x];     \
        const double b_ = FO_LOAD(covenant_coef + 2 * (r) + 1);                                       \
        const double lesser_ = (y) < 0 ? b_ : ((b_one) ? value[(y) < 0 ? 0 : (y)] : b_ * value[(y) < 0 ? 0 : (y)]); \
        int row_ = (is_max) ? lesser_ > greater_ + FO_COVENANT_TOLERANCE_USD                          \
                            : greater_ < lesser_ - FO_COVENANT_TOLERANCE_USD;                          \
        if ((when) >= 0) row_ = row_ && value[(when) < 0 ? 0 : (when)] > FO_COVENANT_TOLERANCE_USD;    \
        missed = row_ ? missed | (bit) : missed;                                                       \
    }

// the scheduled instalments the plan's own balance no longer covers, paid from the kept balances;
// *matured: the part that repays bullets at their maturity (not debt service, as the plan's own)
FO_DEVICE double fo_kept_principal(const double* q, fo_state* st, double* matured)
{
    double total = 0.0, at_maturity = 0.0;
#pragma unroll
    for (int j = 0; j < FO_FP; ++j) {
        const double paid = fo_min(fo_unpaid(q, j, st), st->kept_debt[j]);
        st->kept_debt[j] = st->kept_debt[j] - paid;
        total = total + paid;
        at_maturity = at_maturity + paid * FO_Q(FO_Q_SLOT_MATURES + j);
    }
    *matured = at_maturity;
    return total;
}

// the collateral the balances kept by cut prepayments need (the borrowing base): in slot order
FO_DEVICE double fo_kept_collateral(FO_PARAMS, const fo_state* st)
{
    double total = 0.0;
#pragma unroll
    for (int j = 0; j < FO_FP; ++j) total = total + FO_LOAD(slot_collateral_weight + j) * st->kept_debt[j];
    return total;
}

FO_DEVICE double fo_collateral(const double* q, const fo_taken* tk)
{
    double value = FO_Q(FO_Q_COLLATERAL);
#pragma unroll
    for (int g = 0; g < FO_G; ++g) value = value - tk->held[g] * FO_Q(FO_Q_GEN_COLLATERAL + g);
    return value;
}

// the plan's term debt after the quarter (row q of its table) plus the balances kept
FO_DEVICE double fo_term_debt(const double* q, const fo_state* st)
{
    double kept = 0.0;
#pragma unroll
    for (int j = 0; j < (FO_FP > 0 ? FO_FP : 1); ++j) kept = kept + st->kept_debt[j];
    double debt = FO_Q(FO_Q_TERM_DEBT) + kept;
#pragma unroll
    for (int l = 0; l < FO_FL; ++l) debt = debt - st->forgone[l];  // never drawn (economics.debt.term_debt)
#if FO_BASE_PREPAY
#pragma unroll
    for (int j = 0; j < FO_FB; ++j) debt = debt - st->base_less[j];  // prepaid by policy rule 6
#endif
    return debt;
}

// the debt owed at the end of the quarter (QuarterFinance.debt): the term debt less the GPU-backed draws
// deferred to the next quarter (not yet owed), plus the revolver
FO_DEVICE double fo_debt(const double* q, const fo_state* st, double revolver)
{
    return (fo_term_debt(q, st) - st->order_share_due * FO_Q(FO_Q_LTV_DRAWS)) + revolver;
}

// at the pair's first liquidity default (or its uncured breach: debt_out and uncovered_out say which), the
// end of quarter t (simulate._debt_at_default): the debt owed, and what of it the GPUs held (less those
// sold, cancelled or deferred), sold at the scenario's resale value less selling costs and the distress
// discount, and the cash where positive, would not repay; returns what is left of them once the debt is
// repaid (the shareholders' at an acceleration: npv_accelerated)
FO_DEVICE double fo_debt_at_default(FO_PARAMS, long long p, long long s, int t, const double* q, double cash,
                                  double revolver, const fo_state* st, double* debt_out, double* uncovered_out)
{
    const double debt = fo_debt(q, st, revolver);
    double fleet = 0.0;
#pragma unroll
    for (int g = 0; g < FO_G; ++g) {
        const double value = FO_Q(FO_Q_GEN_SALE_VALUE + g);
        const double gone = st->missing[g] + st->due_gpus[g];  // sold, cancelled, or deferred to t + 1
        fleet = fleet + (value - fo_taken_share(gone, FO_Q(FO_Q_GEN_HELD_INV + g)) * value);
    }
    const double recovered = fleet * (FO_SCEN(resale_factor, t, s) * sale_share) + fo_max(cash, 0.0);
    debt_out[p * S + s] = debt;
    uncovered_out[p * S + s] = fo_max(debt - recovered, 0.0);
    return fo_max(recovered - debt, 0.0);
}

// the least change from quarter t (row q) to a later quarter u of the plan's own room in the borrowing
// base at t's resale factor, factor (C_u - C_t) - (N_u - N_t), at most 0 (financing._later_base_change):
// what a balance kept now, still owed then, may not take
FO_DEVICE double fo_later_base_change(const double* q, int t, double factor)
{
    double least = 0.0;
    for (int u = t + 1; u < FO_T; ++u) {
        const double* later = q + (long long)(u - t) * FO_NQ;
        const double change = factor * (FO_LOAD(later + FO_Q_COLLATERAL) - FO_Q(FO_Q_COLLATERAL));
        least = fo_min(least, change - (FO_LOAD(later + FO_Q_COLLATERAL_REQUIRED) - FO_Q(FO_Q_COLLATERAL_REQUIRED)));
    }
    return least;
}

// cut the quarter's planned prepayments (every facility's by the same share) to keep cash at the
// minimum plus the plan's buffer plus the revolver drawn (at the start of the quarter), but never the
// part the borrowing base needs, now or, at this quarter's resale factor, in a later quarter
// (core.economics.policy_balances.base_cut_limit: base_room, its room before the cut, USD, lowered by
// fo_later_base_change; released, the collateral the pair's prepayments free, 0 where no base is
// tested); returns the cash
FO_DEVICE double fo_cut_prepayment(FO_PARAMS, long long p, int t, const double* q, double cash, double revolver,
                                   fo_state* st, const double* forgone_prepaid, double base_room, double factor,
                                   double released, double* cut_share, const double* less_prepaid)
{
    // the pair's prepayments: the plan's less those of the balances it never drew (forgone_prepaid, by slot)
    // and, with policy rule 6, those its balances left short (less_prepaid, by base slot)
    double planned = FO_Q(FO_Q_PREPAID_TOTAL);
#pragma unroll
    for (int l = 0; l < FO_FL; ++l) planned = planned - forgone_prepaid[l];
#if FO_BASE_PREPAY
#pragma unroll
    for (int j = 0; j < FO_FB; ++j) planned = planned - less_prepaid[j];
#endif
    (void)less_prepaid;
    const double shortfall = ((min_cash_floor + FO_LOAD(lbuf + p)) + revolver) - cash;
    if (!(shortfall > FO_LIQUIDITY_TOLERANCE_USD && planned > FO_LIQUIDITY_TOLERANCE_USD)) return cash;
    double cut = fo_min(fo_max(shortfall, 0.0), planned);
    if (released > 0) {
        const double room = base_room + fo_later_base_change(q, t, factor);
        const double limit = planned * (fo_max(room, 0.0) / released);
        cut = fo_min(cut, limit > FO_LIQUIDITY_TOLERANCE_USD ? limit : 0.0);
    }
    const double share = cut / planned;
    *cut_share = share;
    if (t == FO_T - 1 && !FO_BASE_PREPAY) {  // with rule 6, whose prepayment takes a facility's kept first, by slot
        st->kept_debt[0] = st->kept_debt[0] + cut;
    } else {
#pragma unroll
        for (int j = 0; j < FO_FP; ++j) {
            double prepaid = FO_Q(FO_Q_PREPAID + j);
#pragma unroll
            for (int l = 0; l < FO_FL; ++l)
                if (FO_FORGONE_PREPAID_SLOT(l) == j) prepaid = prepaid - forgone_prepaid[l];
#if FO_BASE_PREPAY
            if (FO_KEPT_BASE_SLOT(j) >= 0) prepaid = prepaid - less_prepaid[FO_KEPT_BASE_SLOT(j) < 0 ? 0 : FO_KEPT_BASE_SLOT(j)];
#endif
            st->kept_debt[j] = st->kept_debt[j] + share * prepaid;
        }
    }
    if (cut > 0) st->reacted |= FO_REACTED_PREPAYMENT_CUT;
    return cash + cut;
}

FO_DEVICE void fo_start(FO_PARAMS, long long p, long long s, fo_state* st)
{
    // the quarters this pair may lack power: the plan over-draws a site, or a block group is late
    fo_bits short_quarters = FO_LOAD(plan_short + p);
    for (int b = 0; b < FO_B; ++b) {
        const long long pb = p * FO_B + b;
        if (!(FO_LOAD(build_mw + pb) > 0.0)) continue;
        const int from = FO_LOAD(build_online + pb);
        const int late = FO_SCEN(delay, FO_LOAD(build_site + pb) * FO_T + FO_LOAD(build_start + pb), s);
        if (late > 0) short_quarters |= fo_quarters(from, from + late);
    }
    // and the quarters an increase of a site's contracted capacity is late (step_mw: 0 where
    // power_delay.contracted_probability is 0)
#pragma unroll
    for (int i = 0; i < FO_I; ++i)
        for (fo_bits due = FO_LOAD(step_bits + i); due; due &= due - 1ULL) {  // step_mw > 0 in quarter u >= 1
            const int u = FO_CTZ(due);
            const int late = FO_SCEN(step_delay, i * FO_T + u, s);
            if (late > 0) short_quarters |= fo_quarters(u, u + late);
        }
    st->short_quarters = short_quarters;
    st->live = FO_LOAD(plan_accepted + p);
    out_demand_served[p * S + s] = out_forfeited_usd[p * S + s] = out_distress_sold_usd[p * S + s] = 0.0;
    out_deferred_usd[p * S + s] = 0.0;
#if FO_PRESENT_COST
    out_present_cost[p * S + s] = opening_fleet_value;  // V0, then the quarters' costs
#endif
#if FO_BASE_PREPAY
    out_base_prepaid[p * S + s] = out_base_prepaid_usd[p * S + s] = 0.0;
#pragma unroll
    for (int j = 0; j < FO_FB; ++j) st->base_less[j] = 0.0;
#endif
    st->cash = st->prev_cash = opening_cash;
    st->revolver = st->npv = st->taxable = 0.0;
    st->loss_pool = opening_loss_pool;  // 0 without loss carry-forward (the schema's rule)
    FO_UTIL(st) = 0.0;
    st->min_cash = 1.0e308;  // above any cash: the first quarter sets it
    st->breach = st->reacted = st->before = 0;
    st->due = st->due_deposit = st->carried_gain = st->order_share_due = 0.0;
#pragma unroll
    for (int g = 0; g < (FO_G > 0 ? FO_G : 1); ++g) st->missing[g] = st->due_gpus[g] = 0.0;
#pragma unroll
    for (int j = 0; j < (FO_FP > 0 ? FO_FP : 1); ++j) st->kept_debt[j] = 0.0;
#pragma unroll
    for (int l = 0; l < (FO_FL > 0 ? FO_FL : 1); ++l) st->forgone[l] = 0.0;
#pragma unroll
    for (int j = 0; j < FO_LATE_PLANES; ++j) st->late[j] = 0ULL;
#if FO_R > 0 && FO_W > 1
#pragma unroll
    for (int j = 0; j < FO_W; ++j) {
        st->kept[0][j] = st->kept[1][j] = st->kept[2][j] = 0.0;
#if FO_CFADS
        st->kept[3][j] = 0.0;
#endif
    }
#endif
}

// the customers' payments besides revenue in quarter t (contract_book.contract_payments), for the
// contracts the plan took: the `live` payment of each whose customer is live in t, then the `ended`
// (termination) payment of each whose customer ended it in t and that was live before t (`before`:
// not cancelled for late delivery); contracts in order, as NumPy adds them
FO_DEVICE double fo_contract_payments(FO_PARAMS, long long s, int t, fo_bits accepted, fo_bits before)
{
    const fo_bits now = FO_SCEN(alive_bits, t, s);
    double paid = 0.0;
    for (fo_bits m = FO_LOAD(pay_live_bits + t) & accepted & now; m; m &= m - 1ULL)
        paid = paid + FO_TIMES(FO_LOAD(pay_live + FO_CTZ(m) * FO_T + t), FO_KEPT(FO_CTZ(m), t));
    // `before` holds only contracts whose customer was live in t - 1; none in quarter 0. The share given
    // up this quarter: all of it at a default, the part cut at a scale-back (of the share kept before)
    fo_bits ended = FO_LOAD(pay_ended_bits + t) & before & (FO_SCALE_BACK ? ~0ULL : ~now);
    for (; ended; ended &= ended - 1ULL) {
        const int k = FO_CTZ(ended);
#if FO_SCALE_BACK
        const double given_up = FO_KEPT(k, t - 1) - (((now >> k) & 1ULL) ? FO_KEPT(k, t) : 0.0);
        if (given_up != 0.0) paid = paid + given_up * FO_LOAD(pay_ended + k * FO_T + t);
#else
        paid = paid + FO_LOAD(pay_ended + k * FO_T + t);
#endif
    }
    return paid;
}

// policy rule 5 (idle_gpus_to_market; operations._idle_market), after the quarter's operations: the GPUs the
// plan holds idle in quarter t, offered group by group (sites in order; at each, inference then
// training; generations newest first) to the demand their use's sales left (FO_EXCESS, drawn down),
// within the site's MW online beyond its planned draw (drawn down; the MW late in this scenario are not
// online, in a quarter the pair may be short of power). A group sells the share x = min(1, excess / its
// supply, MW left / its added MW), none where the policy takes GPUs of its generation out or the
// scenario's price does not cover its added electricity. Adds what they earn less that electricity to
// the quarter's EBITDA (and that electricity to its opex), the GPUs to its GPUs used and the demand served to the pair's. Kept out of the quarter's paths, and
// the MW left one value per site, so that the pair's state stays in registers (tests/test_kernel_compile.py).
FO_DEVICE void fo_idle_market(FO_PARAMS, long long p, long long s, int t, int maybe_short, const fo_taken* tk,
                              const fo_scenario_quarter* sq, fo_operations* ops)
{
    double extra = 0.0, earned = 0.0, gpus = 0.0;
    double excess[2] = {*FO_EXCESS(0), *FO_EXCESS(1)};  // FO_IDLE(p, t) holds here
    double* served = out_demand_served + p * S + s;
    const double ef = FO_SQ(ef, electricity_factor, t);
#pragma unroll 1
    for (int i = 0; i < FO_I; ++i) {
        const long long pit = (p * FO_I + i) * FO_T + t;
        double late = 0.0;
        if (maybe_short) fo_late_mw(FO_ARGS, p, s, t, i, &late);
        double left = fo_max((FO_LOAD(online_plan + pit) - late) - FO_LOAD(drawn + pit), 0.0);
#pragma unroll
        for (int v = 0; v < 2; ++v) {
            const int u = 1 - v;
#pragma unroll
            for (int h = 0; h < FO_G; ++h) {
                const int g = FO_G - 1 - h;
                const long long at = (((p * 2 + u) * FO_G + g) * FO_I + i) * FO_T + t;
                const double count = FO_LOAD(igpu + at);
                if (!(count > 0.0) || tk->held[g] > 0.0) continue;
                const double price = FO_SQ(price[g], price_factor, g * FO_T + t);
                const double base = FO_LOAD(irev + at), bill = FO_LOAD(ielec + at);
                if (!(base * price > bill * ef)) continue;
                const double supply = FO_LOAD(isup + at), mw = FO_LOAD(imw + at);
                double x = fo_min(1.0, excess[u] / (supply > 0 ? supply : 1.0));
                if (mw > 0) x = fo_min(x, left / mw);
                const double sold_supply = supply * x;
                excess[u] = fo_max(excess[u] - sold_supply, 0.0);
                left = fo_max(left - mw * x, 0.0);
                *served = *served + sold_supply;
                earned = earned + (base * x) * price;
                gpus = gpus + count * x;
                extra = extra + bill * x;
            }
        }
    }
    ops->ebitda = ops->ebitda + (earned - extra * ef);
    ops->gpus_used = ops->gpus_used + gpus;
#if FO_PRESENT_COST
    ops->opex = ops->opex + extra * ef;
#endif
}

// policy rule 0 off: no GPU taken out of the plan, its capex as planned
FO_DEVICE fo_taken fo_nothing_taken(void)
{
    fo_taken tk;
    tk.capex = tk.draws_in = 0.0;
#pragma unroll
    for (int g = 0; g < FO_G; ++g) tk.market[g] = tk.held[g] = 0.0;
    return tk;
}

// quarter steps 1-4 (operations.quarter_operations): the quarter's EBITDA and GPUs in use, on the per-site path
// where some site of the pair may be short of power, else on the plan's totals; then the idle GPUs (policy
// rule 5). `alive`: the contracts taken whose customer is live; st->live: those still served after it
FO_DEVICE fo_operations fo_quarter_operations(FO_PARAMS, long long p, long long s, int t, const double* q,
                                              fo_bits flags, fo_bits alive, fo_state* st, const fo_taken* tk,
                                              const fo_scenario_quarter* sq)
{
    fo_bits live = alive;
    fo_operations ops = ((st->short_quarters >> t) & 1ULL)
                                  ? fo_short_quarter(FO_ARGS, p, s, t, q, flags, &live, st, tk, sq)
                                  : fo_powered_quarter(FO_ARGS, p, s, t, q, flags, alive, st, tk, sq);
    st->live = live;
    if (FO_IDLE(p, t)) fo_idle_market(FO_ARGS, p, s, t, (int)((st->short_quarters >> t) & 1ULL), tk, sq, &ops);
    return ops;
}

// quarter step 5's figures that the rest of the quarter reads (core.economics.quarter_finance.QuarterFinance)
typedef struct {
    double interest, principal;
    double repaid_at_maturity;  // the part of the principal that repays bullets at maturity: not debt service
    double tax, cash, revolver;
    double base_need;  // the collateral the GPU-secured balances need at the end of the quarter (FO_BASE)
#if FO_PRESENT_COST
    double cost;  // capex paid less the disposals' and distress sales' proceeds, plus interest (the present cost's)
#endif
#if FO_BASE_PREPAY
    double less_prepaid[FO_FB];  // per base slot, the planned prepayment the pair's balance left short (rule 6)
#define FO_LESS_PREPAID(fin) ((fin)->less_prepaid)
#else
#define FO_LESS_PREPAID(fin) ((const double*)0)
#endif
} fo_finance;

// the present cost's part of the investing flows, capex paid less the disposals' proceeds, into *(at) where
// it is compiled in (FO_PRESENT_COST)
#if FO_PRESENT_COST
#define FO_CAPEX_LESS_PROCEEDS(at, x) (*(at) = (x))
#else
#define FO_CAPEX_LESS_PROCEEDS(at, x) ((void)(at))
#endif

// the investing and debt flows of quarter t (financing.quarter_financing): disposals at the scenario's resale value,
// with the GPUs the policy took out and its deferred payments (tk), and the customers' payments besides revenue
// (for the contracts live before t: `before`), cash that is not income, entering with the investing flows as
// their negative (contract_book.contract_payments); the depreciation less the disposals' gain into *depreciation_less_gain,
// and capex less the disposals' proceeds into *capex_less_proceeds (FO_PRESENT_COST)
FO_DEVICE double fo_investing_flows(FO_PARAMS, long long p, long long s, int t, fo_bits flags, const double* q,
                                    const fo_scenario_quarter* sq, fo_bits before, const fo_taken* tk,
                                    fo_state* st, double* depreciation_less_gain, double* capex_less_proceeds)
{
    const fo_bits accepted = FO_LOAD(plan_accepted + p);
    const int paying = ((FO_LOAD(pay_live_bits + t) | FO_LOAD(pay_ended_bits + t)) & accepted) != 0ULL;
    const double paid = paying ? fo_contract_payments(FO_ARGS, s, t, accepted, before) : 0.0;
    if (FO_LIQUIDITY) {  // financing.quarter_financing with the GPUs taken out and the deferred payments
        double depreciation = FO_Q(FO_Q_DEPRECIATION), proceeds = FO_Q(FO_Q_PROCEEDS), book = FO_Q(FO_Q_BOOK);
#pragma unroll
        for (int g = 0; g < FO_G; ++g) {
            depreciation = depreciation - tk->held[g] * FO_Q(FO_Q_GEN_DEPRECIATION + g);
            const double cut = fo_planned_sales_cut(q, g, st);
            proceeds = proceeds - cut * FO_Q(FO_Q_GEN_RETIRED_PROCEEDS + g);
            book = book - cut * FO_Q(FO_Q_GEN_RETIRED_BOOK + g);
        }
        const double capex = FO_Q(FO_Q_CAPEX) + tk->capex;
        double gain, investing;
        if ((flags >> FO_F_PROCEEDS) & 1ULL) {
            const double cash_proceeds = proceeds * FO_SQ(resale, resale_factor, t);
            gain = cash_proceeds - book;
            investing = capex - cash_proceeds;
        } else {
            gain = -book;
            investing = capex;
        }
        gain = gain + st->carried_gain;  // last quarter's distress sales, taxed now
        st->carried_gain = 0.0;
        *depreciation_less_gain = depreciation - gain;
        FO_CAPEX_LESS_PROCEEDS(capex_less_proceeds, investing);
        if (paying) investing = investing - paid;
        return investing + FO_Q(FO_Q_DEBT_FLOW);
    }
    if ((flags >> FO_F_PROCEEDS) & 1ULL) {  // disposals at the scenario's resale value
        const double cash_proceeds = FO_Q(FO_Q_PROCEEDS) * FO_SQ(resale, resale_factor, t);
        const double gain = cash_proceeds - FO_Q(FO_Q_BOOK);
        *depreciation_less_gain = FO_Q(FO_Q_DEPRECIATION) - gain;
        double investing = FO_Q(FO_Q_CAPEX) - cash_proceeds;
        FO_CAPEX_LESS_PROCEEDS(capex_less_proceeds, investing);
        if (paying) investing = investing - paid;
        return investing + FO_Q(FO_Q_DEBT_FLOW);
    }
    *depreciation_less_gain = FO_Q(FO_Q_DEPRECIATION_NET);
    FO_CAPEX_LESS_PROCEEDS(capex_less_proceeds, FO_Q(FO_Q_CAPEX));
    return paying ? (FO_Q(FO_Q_CAPEX) - paid) + FO_Q(FO_Q_DEBT_FLOW) : FO_Q(FO_Q_OUTFLOW_FIXED);
}

// the interest of quarter t (core.economics.quarter_finance.quarter_interest): the plan's forecast, with the scenario's rate
// shift where it floats and spread shift where a refinanced bullet's does (spread), the revolver's, the
// balances kept by cut prepayments', less the interest on the share draws_in of last quarter's GPU-backed
// draws deferred into t (which last quarter's balance did not bear) and on the balances never drawn (this
// quarter's cancelled draws included: their interest is what the deferral saves on them)
FO_DEVICE double fo_quarter_interest(FO_PARAMS, long long s, int t, fo_bits flags, const double* q,
                                     const fo_scenario_quarter* sq, double spread, double draws_in,
                                     const fo_state* st)
{
    double interest = FO_Q(FO_Q_FORECAST_INTEREST);
    if ((flags >> FO_F_FLOATING) & 1ULL)
        interest = interest + (FO_SQ(rate, rate_shift, t) / FO_QUARTERS_PER_YEAR) * FO_Q(FO_Q_FLOATING_BALANCE);
    if ((flags >> FO_F_REFINANCED) & 1ULL)
        interest = interest + (spread / FO_QUARTERS_PER_YEAR) * FO_Q(FO_Q_REFINANCED_BALANCE);
    interest = interest + revolver_rate_q * st->revolver;
#if FO_FP > 0
    interest = interest + fo_kept_interest(FO_ARGS, t, FO_SQ(rate, rate_shift, t), spread, st);
#endif
    const double saved = draws_in > 0 ? fo_deferred_draws_interest(q, draws_in, FO_SQ(rate, rate_shift, t)) : 0.0;
    interest = interest - saved;
#if FO_FL > 0
    interest = interest - fo_forgone_interest(q, FO_SQ(rate, rate_shift, t), spread, st);
#endif
#if FO_BASE_PREPAY  // none on the principal rule 6 prepaid
    interest = interest - fo_base_interest(q, flags, FO_SQ(rate, rate_shift, t), spread, st, 0);
#endif
    return interest;
}

#if FO_BASE_PREPAY
// policy rule 6: quarter t's repayment of the base slots' facilities (row q) where the pair owes less than the
// plan (fo_base_repaid): fin->principal and fin->repaid_at_maturity fall by what it repays short of the plan,
// fin->less_prepaid keeps each slot's prepayment short (read by the prepayment rule), st->base_less what is
// left; returns what the pair pays less than the plan
FO_DEVICE double fo_base_repayment(const double* q, fo_state* st, fo_finance* fin)
{
    double less = 0.0;
#pragma unroll
    for (int j = 0; j < FO_FB; ++j) {
        fin->less_prepaid[j] = 0.0;
        if (!(st->base_less[j] > 0)) continue;
        double less_principal;
        st->base_less[j] = fo_base_repaid(q, j, st->base_less[j], &less_principal, &fin->less_prepaid[j]);
        fin->principal = fin->principal - less_principal;
        fin->repaid_at_maturity = fin->repaid_at_maturity - less_principal * FO_Q(FO_Q_BASE_MATURES + j);
        less = less + (less_principal + fin->less_prepaid[j]);
    }
    return less;
}

// what the pair owes base slot j's facility at the end of quarter t (row q) as the borrowing base counts it
// (financing._owed): the plan's balance less what rule 6 prepaid, plus what a cut prepayment kept on it,
// less what it never drew and the draws deferred to the next quarter, not below 0
FO_DEVICE double fo_base_owed(const double* q, int j, const fo_state* st)
{
    double owed = FO_Q(FO_Q_BASE_OWED + j) - st->base_less[j];
#if FO_FP > 0
    if (FO_BASE_KEPT_SLOT(j) >= 0) owed = owed + st->kept_debt[FO_BASE_KEPT_SLOT(j) < 0 ? 0 : FO_BASE_KEPT_SLOT(j)];
#endif
#if FO_FL > 0
    if (FO_BASE_FORGONE_SLOT(j) >= 0) owed = owed - st->forgone[FO_BASE_FORGONE_SLOT(j) < 0 ? 0 : FO_BASE_FORGONE_SLOT(j)];
#endif
    owed = owed - st->order_share_due * FO_Q(FO_Q_BASE_DRAWS + j);
    return fo_max(owed, 0.0);
}

// policy rule 6 (financing._prepay_base_deficiency), at the end of quarter step 5 after the revolver, in a
// quarter whose base is tested: where the collateral the GPU-secured balances need exceeds the GPUs' value at
// the scenario's resale level by more than the base's tolerance, the least principal that mends it is
// prepaid, base slot by slot (the cure order), each at most what the pair owes the facility (fo_base_owed),
// from cash above the minimum plus the plan's buffer, then the undrawn revolver; the balance a cut prepayment
// kept first. Into the pair's slots: whether it prepaid, and the principal
FO_DEVICE void fo_prepay_base_deficiency(FO_PARAMS, long long p, long long s, int t, const double* q,
                                         const fo_taken* tk, fo_state* st, fo_finance* fin)
{
    const double collateral = fo_collateral(q, tk) * FO_SCEN(resale_factor, t, s);
    double deficiency = (fin->base_need - st->order_share_due * FO_Q(FO_Q_LTV_COLLATERAL)) - collateral;
    if (!(deficiency > FO_COVENANT_TOLERANCE_USD)) return;
    const double from_cash = fo_max(fin->cash - (min_cash_floor + FO_LOAD(lbuf + p)), 0.0);
    double funds = from_cash + fo_max(revolver_limit - fin->revolver, 0.0), paid = 0.0;
#pragma unroll
    for (int j = 0; j < FO_FB; ++j) {
        const double weight = FO_Q(FO_Q_BASE_WEIGHT + j);
        const double repaid = fo_min(fo_min(fo_base_owed(q, j, st), deficiency * (1.0 / weight)), funds);
        if (!(repaid > 0)) continue;
        deficiency = deficiency - weight * repaid;
        funds = funds - repaid;
        paid = paid + repaid;
        double left = repaid;
#if FO_FP > 0
        const int k = FO_BASE_KEPT_SLOT(j) < 0 ? 0 : FO_BASE_KEPT_SLOT(j);
        if (FO_BASE_KEPT_SLOT(j) >= 0) {
            const double from_kept = fo_min(fo_max(st->kept_debt[k], 0.0), repaid);
            st->kept_debt[k] = st->kept_debt[k] - from_kept;
            left = repaid - from_kept;
        }
#endif
        st->base_less[j] = st->base_less[j] + left;
        fin->base_need = fin->base_need - weight * repaid;
    }
    const double cash_paid = fo_min(paid, from_cash);
    fin->cash = fin->cash - cash_paid;
    fin->revolver = fin->revolver + (paid - cash_paid);
    if (paid > 0) {
        out_base_prepaid[p * S + s] = 1.0;
        out_base_prepaid_usd[p * S + s] = out_base_prepaid_usd[p * S + s] + paid;
    }
}
#endif

// the term debt's repayments (core.economics.quarter_finance._term_debt_paid): the plan's principal, and the scheduled
// instalments the plan's own balance no longer covers, repaid from the balances kept by cut prepayments
// (st->kept_debt), into fin->principal and fin->repaid_at_maturity; returns the quarter's investing and
// debt outflow (`outflow`, fo_investing_flows) with those instalments, less the GPU-backed draws moved
// with a deferred order (financing._moved_draws): drawn now beyond the plan (the share draws_in of last
// quarter's), less this quarter's deferred to the next
FO_DEVICE double fo_term_debt_paid(const double* q, double draws_in, double outflow, fo_state* st, fo_finance* fin)
{
    fin->principal = FO_Q(FO_Q_PRINCIPAL);
    fin->repaid_at_maturity = FO_Q(FO_Q_REPAID_AT_MATURITY);
    double moved = draws_in > 0 ? draws_in * FO_LOAD(q - FO_NQ + FO_Q_LTV_DRAWS) : 0.0;
    moved = moved - st->order_share_due * FO_Q(FO_Q_LTV_DRAWS);
#if FO_FP > 0
    double kept_matured = 0.0;
    const double kept_paid = fo_kept_principal(q, st, &kept_matured);
    fin->principal = fin->principal + kept_paid;
    fin->repaid_at_maturity = fin->repaid_at_maturity + kept_matured;  // economics.quarter_finance.finance_step's order
    outflow = outflow + kept_paid;
#endif
#if FO_BASE_PREPAY
    outflow = outflow - fo_base_repayment(q, st, fin);
#endif
    return outflow - moved;
}

// the tax on the quarter's income less the losses not yet used (core.economics.quarter_finance._tax_step: taxable_income,
// tax_on); keeps the taxable income before the floor at 0 in st->taxable (for the liquidation's tax)
FO_DEVICE double fo_tax(FO_PARAMS, double ebitda, double interest, double depreciation_less_gain, fo_state* st)
{
    const double ebt = ebitda - interest - depreciation_less_gain;
    double taxable = ebt;
    if (loss_carry_forward) {
        taxable = ebt - st->loss_pool;
        st->loss_pool = fo_max(-taxable, 0.0);
    }
    st->taxable = taxable;
    return tax_rate * fo_max(taxable, 0.0);
}

// the balances never drawn repaid by the plan's principal and prepayment shares of the quarter
// (core.economics.policy_balances.less_forgone), and what of them then exceeds the plan's balance less the draws deferred
// out of t (economics.policy_balances._forgone_over_balance: repaid by the plan's repayment too, in its shares; rare, a
// plan prepaying): the pair repays that much less, so fin->principal and fin->repaid_at_maturity fall and
// the cash rises by it; each balance's prepaid part into forgone_prepaid (read by the prepayment rule).
// Returns the cash. Done after the tax, next to the prepayment rule, to keep those parts out of registers
// across the tax
FO_DEVICE double fo_less_forgone(const double* q, double cash, fo_state* st, fo_finance* fin, double* forgone_prepaid)
{
    forgone_prepaid[0] = 0.0;
#pragma unroll
    for (int l = 0; l < FO_FL; ++l) {
        const double forgone = st->forgone[l];
        double by_principal = forgone * FO_Q(FO_Q_FORGONE_PRINCIPAL + l);
        forgone_prepaid[l] = forgone * FO_Q(FO_Q_FORGONE_PREPAID + l);
        st->forgone[l] = (forgone - by_principal) - forgone_prepaid[l];
        const double room = fo_forgone_owed(q, l, st, 1) - st->order_share_due * FO_Q(FO_Q_FORGONE_DRAWS + l);
        const double over = st->forgone[l] - fo_max(room, 0.0);
        if (over > 0) {
            const double shares = FO_Q(FO_Q_FORGONE_PRINCIPAL + l) + FO_Q(FO_Q_FORGONE_PREPAID + l);
            const double divisor = fo_max(shares, shares <= 0 ? 1.0 : 0.0);
            by_principal = by_principal + over * FO_Q(FO_Q_FORGONE_PRINCIPAL + l) / divisor;
            forgone_prepaid[l] = forgone_prepaid[l] + over * FO_Q(FO_Q_FORGONE_PREPAID + l) / divisor;
            st->forgone[l] = st->forgone[l] - over;
        }
        fin->principal = fin->principal - by_principal;
        fin->repaid_at_maturity = fin->repaid_at_maturity - by_principal * FO_Q(FO_Q_FORGONE_MATURES + l);
        cash = cash + (by_principal + forgone_prepaid[l]);
    }
    return cash;
}

// the borrowing base before the prepayment rule (covenant_tests.borrowing_base): the collateral the GPU-secured
// balances need at the end of the quarter, the plan's and those kept before this quarter's cut, less those
// never drawn (the GPU-backed draws deferred to the next quarter are left out where it is tested); 0 where
// no base is tested (FO_BASE)
FO_DEVICE double fo_base_need(FO_PARAMS, const double* q, const fo_state* st)
{
    double base_need = 0.0;
#if FO_BASE
    base_need = FO_Q(FO_Q_COLLATERAL_REQUIRED);
#if FO_CUT
    base_need = base_need + fo_kept_collateral(FO_ARGS, st);
#endif
#pragma unroll
    for (int l = 0; l < FO_FL; ++l) base_need = base_need - FO_Q(FO_Q_FORGONE_WEIGHT + l) * st->forgone[l];
#if FO_BASE_PREPAY
#pragma unroll
    for (int j = 0; j < FO_FB; ++j) base_need = base_need - FO_Q(FO_Q_BASE_WEIGHT + j) * st->base_less[j];
#endif
#endif
    return base_need;
}

#if FO_CUT
// policy rule 3 (core.economics.policy_balances.cut_prepayment, within base_cut_limit's room): fo_cut_prepayment with the
// borrowing base's room before the cut and the collateral the pair's prepayments free, then the cut's
// collateral added to fin->base_need (in the last quarter slot 0 takes every facility's cut: its share of
// the planned prepayments' collateral is added instead)
FO_DEVICE void fo_prepayment_rule(FO_PARAMS, long long p, long long s, int t, const double* q,
                                  const fo_taken* tk, const double* forgone_prepaid, fo_state* st, fo_finance* fin)
{
    double cut_share = 0.0, released = 0.0, base_room = 0.0, factor = 0.0;
#if FO_BASE  // the borrowing base is tested in every quarter (core.covenants.covenant_tests)
    released = FO_Q(FO_Q_PREPAID_COLLATERAL);  // by the pair's prepayments
#pragma unroll
    for (int l = 0; l < FO_FL; ++l) released = released - FO_Q(FO_Q_FORGONE_WEIGHT + l) * forgone_prepaid[l];
#if FO_BASE_PREPAY
#pragma unroll
    for (int j = 0; j < FO_FB; ++j) released = released - FO_Q(FO_Q_BASE_WEIGHT + j) * fin->less_prepaid[j];
#endif
    factor = FO_SCEN(resale_factor, t, s);
    base_room = fo_collateral(q, tk) * factor - (fin->base_need - st->order_share_due * FO_Q(FO_Q_LTV_COLLATERAL));
#endif
    fin->cash = fo_cut_prepayment(FO_ARGS, p, t, q, fin->cash, st->revolver, st, forgone_prepaid, base_room, factor,
                                  released, &cut_share, FO_LESS_PREPAID(fin));
#if FO_BASE
    fin->base_need = fin->base_need + cut_share * released;
#endif
}
#endif

// the revolver drawn where cash is below min_cash_floor, repaid from cash above it, within its limit
// (core.economics.quarter_finance._draw_or_repay_revolver): fin->cash and fin->revolver after it
FO_DEVICE void fo_draw_or_repay_revolver(FO_PARAMS, fo_finance* fin)
{
    const double rev_draw = fo_min(fo_max(min_cash_floor - fin->cash, -fin->revolver), revolver_limit - fin->revolver);
    fin->revolver = fin->revolver + rev_draw;
    fin->cash = fin->cash + rev_draw;
}

// quarter step 5 (financing.quarter_financing, core.economics.quarter_finance.finance_step) and policy rule 4's distress sales:
// interest, repayments, tax, cash, the prepayment rule, the revolver; updates the pair's cash, revolver,
// tax losses and balances
FO_DEVICE fo_finance fo_financing(FO_PARAMS, long long p, long long s, int t, fo_bits flags, const double* q,
                                  const fo_scenario_quarter* sq, fo_bits before, double ebitda, const fo_taken* tk,
                                  fo_state* st)
{
    fo_finance fin;
    double depreciation_less_gain, capex_less_proceeds = 0.0;
    double outflow = fo_investing_flows(FO_ARGS, p, s, t, flags, q, sq, before, tk, st, &depreciation_less_gain,
                                        &capex_less_proceeds);
    // refinanced bullets: the spread of new borrowing too (read here, by the pairs that need it:
    // few quarters do, and a field of the scenario quarter would hold a register in every one)
    const double spread = ((flags >> FO_F_REFINANCED) & 1ULL) ? FO_SCEN(spread_shift, t, s) : 0.0;
    fin.interest = fo_quarter_interest(FO_ARGS, s, t, flags, q, sq, spread, tk->draws_in, st);
#if FO_PRESENT_COST
    fin.cost = capex_less_proceeds + fin.interest;
#endif
    outflow = fo_term_debt_paid(q, tk->draws_in, outflow, st, &fin);
    fin.tax = fo_tax(FO_ARGS, ebitda, fin.interest, depreciation_less_gain, st);
    fin.cash = st->cash + ebitda - fin.tax - fin.interest - outflow;
    double forgone_prepaid[FO_FL > 0 ? FO_FL : 1];
    fin.cash = fo_less_forgone(q, fin.cash, st, &fin, forgone_prepaid);
    fin.base_need = fo_base_need(FO_ARGS, q, st);
#if FO_CUT
    fo_prepayment_rule(FO_ARGS, p, s, t, q, tk, forgone_prepaid, st, &fin);
#endif
    fin.revolver = st->revolver;
    fo_draw_or_repay_revolver(FO_ARGS, &fin);
#if FO_BASE_PREPAY
    if (t >= FO_BASE_FROM && t <= FO_BASE_UNTIL) fo_prepay_base_deficiency(FO_ARGS, p, s, t, q, tk, st, &fin);
#endif
    if (distress_sales && default_cash - fin.cash > FO_LIQUIDITY_TOLERANCE_USD) {
#if FO_PRESENT_COST
        const double unsold = fin.cash;
#endif
        fin.cash = fo_sell(FO_ARGS, p, s, q, fin.cash, FO_SCEN(resale_factor, t, s) * sale_share, st);  // rare: not in sq
#if FO_PRESENT_COST
        fin.cost = fin.cost - (fin.cash - unsold);  // the sales' proceeds
#endif
    }
    st->revolver = fin.revolver;
    st->cash = fin.cash;
    return fin;
}

// the first liquidity default ends the shareholders' claim: the cash the company held is lost to them
// (npv_limited, and npv_accelerated where no uncured breach came before); the lenders' side of it
// (fo_debt_at_default). "Not yet" as the negation of fo_finish's test, so that the slots are written on
// every path, NaN cash too. Then the discounted change in cash is added to the NPV, and the lowest cash kept
FO_DEVICE void fo_count_cash(FO_PARAMS, long long p, long long s, int t, const double* q, fo_state* st)
{
    const double cash = st->cash;
    if (cash < default_below && !(st->min_cash < default_below)) {
        out_npv_limited[p * S + s] = st->npv - FO_LOAD(discount + t) * st->prev_cash;
        if (!(st->breach & FO_UNCURED)) out_npv_accelerated[p * S + s] = out_npv_limited[p * S + s];
        fo_debt_at_default(FO_ARGS, p, s, t, q, cash, st->revolver, st, out_debt_at_default, out_uncovered_debt);
    }
    st->npv = st->npv + FO_LOAD(discount + t) * (cash - st->prev_cash);
    st->prev_cash = cash;
    st->min_cash = fo_min(st->min_cash, cash);
}

#if FO_R > 0
#if FO_W > 1
// the covenants' flows of the last FO_W quarters, oldest first, kept from the first quarter (a trailing
// test looks back before it is tested): EBITDA, debt service, interest and, where a test reads it, EBITDA
// less tax (FO_CFADS)
FO_DEVICE void fo_keep_flows(fo_state* st, double ebitda, double service, double interest, double tax)
{
#pragma unroll
    for (int j = 1; j < FO_W; ++j) {
        st->kept[0][j - 1] = st->kept[0][j];
        st->kept[1][j - 1] = st->kept[1][j];
        st->kept[2][j - 1] = st->kept[2][j];
#if FO_CFADS
        st->kept[3][j - 1] = st->kept[3][j];
#endif
    }
    st->kept[0][FO_W - 1] = ebitda;
    st->kept[1][FO_W - 1] = service;
    st->kept[2][FO_W - 1] = interest;
#if FO_CFADS
    st->kept[3][FO_W - 1] = ebitda - tax;
#endif
}
#endif

// the quantities the covenants test in quarter t (core.covenants.QUANTITIES) into value[9]: the flows
// (their window's means with a trailing test), the debt and cash at the end of the quarter, the
// borrowing base's collateral needed and the GPUs' value at the scenario's resale level, net debt
FO_DEVICE void fo_covenant_quantities(FO_PARAMS, long long s, int t, const double* q, double ebitda, double service,
                                      const fo_finance* fin, const fo_taken* tk, const fo_state* st, double* value)
{
#if FO_W > 1
    const int n = t + 1 < FO_W ? t + 1 : FO_W;
    value[0] = fo_window_mean(st->kept[0], n);
    value[2] = fo_window_mean(st->kept[1], n);
    value[3] = fo_window_mean(st->kept[2], n);
#if FO_CFADS
    value[7] = fo_window_mean(st->kept[3], n);
#endif
#else
    value[0] = ebitda;
    value[2] = service;
    value[3] = fin->interest;
#if FO_CFADS
    value[7] = ebitda - fin->tax;  // the cash flow available for debt service (dscr_cash_flow)
#endif
#endif
#if !FO_CFADS
    value[7] = 0.0;  // read by no test
#endif
    value[1] = fo_debt(q, st, fin->revolver);
    value[4] = fin->cash;
#if FO_BASE
    value[5] = fin->base_need - st->order_share_due * FO_Q(FO_Q_LTV_COLLATERAL);
    value[6] = fo_collateral(q, tk) * FO_SCEN(resale_factor, t, s);
#else
    value[5] = value[6] = 0.0;
#endif
#if FO_NET_DEBT || FO_CASH_COVERS
    // net leverage's numerator (leverage_numerator), and whether the cash covers the debt (FO_CASH_COVERS)
    value[8] = fo_max(value[1] - value[4], 0.0);
#else
    value[8] = 0.0;  // read by no test
#endif
}

// the covenants quarter t's quantities miss (a core.covenants.kind_bit mask; 0: none), each test a row of
// FO_COVENANT_ROWS
FO_DEVICE int fo_missed_covenants(FO_PARAMS, int t, const double* value)
{
    int missed = 0;
    FO_COVENANT_ROWS(FO_TEST)
    return missed;
}

// quarter step 6 (covenant_tests.covenants_missed, core.covenants.CureRights): the flows kept and the covenants
// tested, the breach cured or not; at the pair's uncured breach, the lenders' side of it
// (fo_debt_at_default) and, where no liquidity default came before (nor in this quarter), the first event
// of default: the lenders take the GPUs and the cash, the shareholders keep what is left after the debt.
// The flows and tests matter until a breach cannot be cured
FO_DEVICE void fo_covenants(FO_PARAMS, long long p, long long s, int t, const double* q, double ebitda,
                            const fo_finance* fin, const fo_taken* tk, fo_state* st)
{
    if (st->breach & FO_UNCURED) return;
    // the DSCR's debt service: a bullet's repayment at maturity is not in it (economics.quarter_finance.QuarterFinance)
    const double service = fin->interest + fin->principal - fin->repaid_at_maturity;
#if FO_W > 1
    fo_keep_flows(st, ebitda, service, fin->interest, fin->tax);
#endif
    if (t < covenant_from) return;
    double value[9];
    fo_covenant_quantities(FO_ARGS, s, t, q, ebitda, service, fin, tk, st, value);
#if FO_CASH_COVERS
    const int covered = value[8] <= FO_COVENANT_TOLERANCE_USD;  // core.covenants.cash_covers_debt
#else
    const int covered = 0;
#endif
    st->breach = fo_cure(st->breach, fo_missed_covenants(FO_ARGS, t, value), equity_cures, st->min_cash < default_below,
                         covered);
    if (!(st->breach & FO_UNCURED)) return;  // this quarter's: the step is not run after it
    const double left = fo_debt_at_default(FO_ARGS, p, s, t, q, fin->cash, fin->revolver, st, out_debt_at_uncured_breach,
                                           out_uncovered_debt_at_uncured_breach);
    const double d = FO_LOAD(discount + t);
    if (!(st->min_cash < default_below)) out_npv_accelerated[p * S + s] = (st->npv - d * fin->cash) + d * left;
}
#endif

// quarters counted while none has broken yet (simulate's TIMING_FIELDS)
FO_DEVICE void fo_count_quarters_before(FO_PARAMS, fo_state* st)
{
    st->before += ((st->breach & FO_FIRST_BREACH) == 0) + ((st->min_cash >= default_below) << FO_BEFORE_BITS)
                  + (((st->breach & FO_UNCURED) == 0) << (2 * FO_BEFORE_BITS));
}

// quarter t of a pair: policy rule 0 at its start, then the quarter steps of docs/evaluation.md ("One
// quarter of one (plan, scenario) pair") in their order, as simulate.simulate runs them
FO_DEVICE void fo_quarter(FO_PARAMS, long long p, long long s, int t, fo_bits flags, const fo_scenario_quarter* sq,
                          fo_state* st)
{
    const double* q = plan_quarter + (p * FO_T + t) * (long long)FO_NQ;
    const fo_bits before = st->live;
#if FO_GPU_CODE
    const fo_bits alive = before & sq->alive;  // customers that defaulted end their contracts
#else
    const fo_bits alive = before ? before & FO_SCEN(alive_bits, t, s) : 0ULL;
#endif
    const fo_taken tk = FO_LIQUIDITY ? fo_orders(FO_ARGS, p, s, t, flags, q, sq, st) : fo_nothing_taken();
    const fo_operations ops = fo_quarter_operations(FO_ARGS, p, s, t, q, flags, alive, st, &tk, sq);
    const fo_finance fin = fo_financing(FO_ARGS, p, s, t, flags, q, sq, before, ops.ebitda, &tk, st);
    fo_count_cash(FO_ARGS, p, s, t, q, st);
#if FO_PRESENT_COST  // the quarter's cost, discounted, in the pair's slot (simulate._Totals.add_discounted_cost)
    out_present_cost[p * S + s] = out_present_cost[p * S + s] + FO_LOAD(discount + t) * (ops.opex + fin.cost);
#endif
    FO_UTIL(st) = FO_UTIL(st) + ops.gpus_used * FO_Q(FO_Q_INV_HELD);
#if FO_R > 0
    fo_covenants(FO_ARGS, p, s, t, q, ops.ebitda, &fin, &tk, st);
#endif
    fo_count_quarters_before(FO_ARGS, st);
}

// the plan's fleet value at the end (returned) and its book value (*book), less those of the GPUs the policy
// took out, which are not there at the end (Liquidity.terminal)
FO_DEVICE double fo_terminal_fleet(FO_PARAMS, long long p, const fo_state* st, double* book)
{
    double fleet = FO_LOAD(terminal_fleet + p);
    *book = FO_LOAD(terminal_book + p);
    if (FO_LIQUIDITY) {
        const double* last = plan_quarter + (p * FO_T + FO_T - 1) * (long long)FO_NQ;
        double gone = 0.0, gone_book = 0.0;
#pragma unroll
        for (int g = 0; g < FO_G; ++g) {
            const double share = fo_taken_share(st->missing[g], fo_inverse(FO_LOAD(last + FO_Q_GEN_HELD + g)));
            gone = gone + share * FO_LOAD(gterm + p * FO_G + g);
            gone_book = gone_book + share * FO_LOAD(gtbook + p * FO_G + g);
        }
        fleet = fleet - gone;
        *book = *book - gone_book;
    }
    return fleet;
}

// what is owed at the end: the debt (debt_end) and the prepayments not yet earned after the last quarter,
// for the contracts taken whose customer is live in it (contract_book.deferred_revenue_end)
FO_DEVICE double fo_owed_at_end(FO_PARAMS, long long p, long long s, double debt_end)
{
    fo_bits owing = FO_LOAD(deferred_bits) & FO_LOAD(plan_accepted + p);
    if (!owing) return debt_end;
    owing &= FO_SCEN(alive_bits, FO_T - 1, s);
    double deferred = 0.0;
    for (; owing; owing &= owing - 1ULL)
        deferred = deferred + FO_TIMES(FO_LOAD(deferred_end + FO_CTZ(owing)), FO_KEPT(FO_CTZ(owing), FO_T - 1));
    return debt_end + deferred;
}

// the NPV's end term, undiscounted (simulate._end_term): the fleet at the scenario's last resale value and
// the power plant at book, less the tax on their sale (taxed with the last quarter, its distress sales
// included: economics.taxes.liquidation_tax), less what is owed at the end
FO_DEVICE double fo_end_term(FO_PARAMS, long long p, long long s, const fo_state* st)
{
    const double debt_end = fo_term_debt(plan_quarter + (p * FO_T + FO_T - 1) * (long long)FO_NQ, st) + st->revolver;
    double book;
    const double fleet = fo_terminal_fleet(FO_ARGS, p, st, &book);
    const double value = fleet * FO_SCEN(resale_factor, FO_T - 1, s);
    const double gain = (value - book) + st->carried_gain;
    const double liquidation_tax = tax_rate * fo_max(st->taxable + gain, 0.0) - tax_rate * fo_max(st->taxable, 0.0);
    const double terminal = value + FO_LOAD(terminal_power + p) - liquidation_tax;
    return terminal - fo_owed_at_end(FO_ARGS, p, s, debt_end);
}

// the policy's reactions (a flag each: simulate's ContractBook and Liquidity reactions) and the quarters
// before the first breach, the liquidity default and the uncured breach, into the pair's slots (idx)
FO_DEVICE void fo_write_reactions(FO_PARAMS, long long idx, const fo_state* st)
{
    out_rescheduled[idx] = (st->reacted & FO_REACTED_RESCHEDULED) != 0;
    out_cancelled[idx] = (st->reacted & FO_REACTED_CANCELLED) != 0;
    out_freed[idx] = (st->reacted & FO_REACTED_FREED) != 0;
    out_deferred[idx] = (st->reacted & FO_REACTED_DEFERRED) != 0;
    out_order_cancelled[idx] = (st->reacted & FO_REACTED_ORDER_CANCELLED) != 0;
    out_sold[idx] = (st->reacted & FO_REACTED_SOLD) != 0;
    out_prepayment_cut[idx] = (st->reacted & FO_REACTED_PREPAYMENT_CUT) != 0;
    out_quarters_before_breach[idx] = st->before & FO_BEFORE_MASK;
    out_quarters_before_default[idx] = (st->before >> FO_BEFORE_BITS) & FO_BEFORE_MASK;
    out_quarters_before_uncured[idx] = st->before >> (2 * FO_BEFORE_BITS);
}

// the pair's results after its last quarter, into its output slots (simulate's RESULT_FIELDS)
FO_DEVICE void fo_finish(FO_PARAMS, long long p, long long s, const fo_state* st)
{
    const long long idx = p * S + s;
    const double end = fo_end_term(FO_ARGS, p, s, st);
    out_npv[idx] = st->npv + FO_LOAD(discount + FO_T - 1) * end;
    // else written in the default's quarter; limited liability at the end: worth nothing, not less
    if (!(st->min_cash < default_below)) {
        out_npv_limited[idx] = st->npv + FO_LOAD(discount + FO_T - 1) * fo_max(end, -st->cash);
        out_debt_at_default[idx] = out_uncovered_debt[idx] = 0.0;
        // no event of default of either kind: as npv_limited (else written at the first)
        if (!(st->breach & FO_UNCURED)) out_npv_accelerated[idx] = out_npv_limited[idx];
    }
    out_min_cash[idx] = st->min_cash;
    out_breach[idx] = (st->breach & FO_FIRST_BREACH) != 0;
    out_first_breach[idx] = st->breach & FO_FIRST_BREACH;
    out_uncured_breach[idx] = (st->breach & FO_UNCURED) != 0;
    if (!(st->breach & FO_UNCURED)) out_debt_at_uncured_breach[idx] = out_uncovered_debt_at_uncured_breach[idx] = 0.0;
    out_default[idx] = st->min_cash < default_below;
    out_utilisation[idx] = FO_UTIL(st) / FO_T;
    fo_write_reactions(FO_ARGS, idx, st);
#if FO_PRESENT_COST  // less the value at the end: the fleet at the scenario's resale value, the power plant at book
    double book;
    const double value = fo_terminal_fleet(FO_ARGS, p, st, &book) * FO_SCEN(resale_factor, FO_T - 1, s);
    out_present_cost[idx] = out_present_cost[idx] - FO_LOAD(discount + FO_T - 1) * (value + FO_LOAD(terminal_power + p));
#endif
}

#if FO_GPU
// FO_PLANS consecutive plans per block (blockIdx.x), its scenarios across the threads (blockIdx.y
// tiles). Each thread simulates its scenario under the block's FO_PLANS plans side by side, loading
// the scenario's quarter once for all of them; every thread of a block reads the same plan rows (one
// broadcast load per warp) and consecutive threads read consecutive scenarios; the blocks resident at
// once, consecutive plans on one scenario tile, share that tile's rows in L2.
// At least 3 blocks of FO_THREADS per multiprocessor: at most 168 registers a thread. With the
// policy's state (late-quarter counts, freed capacity, per-class power shares) two plans per thread
// under 128 registers spilled on sm_90 and sm_100; one plan per thread under 168 keeps every bundled
// model's state in registers (the default model spills 12 bytes of temporaries on sm_90; 2 blocks
// would not spill but run a third fewer warps: tests/test_kernel_compile.py, benchmarks/README.md).
// On an H200 (benchmarks/README.md, "GPU"): 3 blocks 4.26e9 plan-scenario-quarters/s, 2 blocks 3.02e9.
extern "C" __global__ void __launch_bounds__(FO_THREADS, 3) fleetopt_evaluate(FO_PARAMS)
{
    const long long p0 = blockIdx.x * (long long)FO_PLANS;
    const int n = P - p0 < FO_PLANS ? (int)(P - p0) : FO_PLANS;
    for (long long s = blockIdx.y * (long long)blockDim.x + threadIdx.x; s < S; s += (long long)gridDim.y * blockDim.x) {
        fo_state st[FO_PLANS];
#pragma unroll
        for (int j = 0; j < FO_PLANS; ++j)
            if (j < n) fo_start(FO_ARGS, p0 + j, s, &st[j]);
        for (int t = 0; t < FO_T; ++t) {
            fo_bits need = 0ULL, flags[FO_PLANS];
            int any_live = 0;
#pragma unroll
            for (int j = 0; j < FO_PLANS; ++j) {
                flags[j] = j < n ? FO_LOAD(plan_flags + (p0 + j) * FO_T + t) : 0ULL;
                need |= flags[j];
                any_live |= j < n && st[j].live != 0ULL;
            }
            const fo_scenario_quarter sq = fo_load_quarter(FO_ARGS, s, t, need, any_live);
#pragma unroll
            for (int j = 0; j < FO_PLANS; ++j)
                if (j < n) fo_quarter(FO_ARGS, p0 + j, s, t, flags[j], &sq, &st[j]);
        }
#pragma unroll
        for (int j = 0; j < FO_PLANS; ++j)
            if (j < n) fo_finish(FO_ARGS, p0 + j, s, &st[j]);
    }
}
#else
#define FO_CPU_TILE 256
// one pair through every quarter
static void fo_one_pair(FO_PARAMS, long long p, long long s)
{
    fo_state a;
    fo_start(FO_ARGS, p, s, &a);
    for (int t = 0; t < FO_T; ++t) {
        const fo_bits flags = FO_LOAD(plan_flags + p * FO_T + t);
#if FO_GPU_CODE
        const fo_scenario_quarter sq = fo_load_quarter(FO_ARGS, s, t, flags, a.live != 0ULL);
        fo_quarter(FO_ARGS, p, s, t, flags, &sq, &a);
#else
        fo_quarter(FO_ARGS, p, s, t, flags, (const fo_scenario_quarter*)0, &a);
#endif
    }
    fo_finish(FO_ARGS, p, s, &a);
}

// the pairs in tiles of one plan and FO_CPU_TILE scenarios (the plan's rows stay in cache), spread
// over the OpenMP threads where the compiler has OpenMP
void fleetopt_evaluate(FO_PARAMS)
{
    const long long tiles = (S + FO_CPU_TILE - 1) / FO_CPU_TILE;
    const long long work = P * tiles;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (long long w = 0; w < work; ++w) {
        const long long p = w / tiles, s0 = (w % tiles) * FO_CPU_TILE;
        const long long s1 = s0 + FO_CPU_TILE < S ? s0 + FO_CPU_TILE : S;
        for (long long s = s0; s < s1; ++s) fo_one_pair(FO_ARGS, p, s);
    }
}

// the number of threads the C build runs on (1 without OpenMP)
int fleetopt_threads(int wanted)
{
#ifdef _OPENMP
    if (wanted > 0) omp_set_num_threads(wanted);
    return omp_get_max_threads();
#else
    (void)wanted;
    return 1;
#endif
}
#endif
