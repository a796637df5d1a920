"""Tables, figures and words of a solved plan (pure functions; the CLI, the notebook API and the reports
render them), a module per topic: ``tables`` (plan.csv, purchases, orders, debt), ``headline``
(summary.json's key figures and how each is written), ``valuation`` (what the NPV counts), ``cost`` (a
cost solve's figures), ``covenant_words`` (cushions, headroom, breaches), ``customers`` (revenue and
concentration), ``fleet`` (GPUs bought, power built, early retirements), ``shocks`` (the robustness
shocks' cash), ``plan_limits`` (what held a solved plan back: the limits it reaches) and
``risk_sentences`` (the "In short" sentences of a plan's risk)."""
