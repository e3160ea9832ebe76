# Reference values for tests/analysis: R survival output for the data sets in tests/analysis/data.
#
# Run from the repository root:
#   Rscript tests/analysis/reference/survival_reference.R
# It (re)writes the CSV files in tests/analysis/data/ and tests/analysis/reference/survival_reference.json.
# CI has no R; the tests compare against the committed JSON.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

data_dir <- "tests/analysis/data"
out_file <- "tests/analysis/reference/survival_reference.json"

# --- data sets --------------------------------------------------------------------------------
veteran_df <- data.frame(
  time = veteran$time, event = veteran$status,
  group = ifelse(veteran$trt == 1, "standard", "test"),
  strata = as.character(veteran$celltype),
  karno = veteran$karno, age = veteran$age
)
lung_ok <- lung[!is.na(lung$ph.ecog), ]
lung_df <- data.frame(
  time = lung_ok$time, event = lung_ok$status - 1,
  group = ifelse(lung_ok$sex == 1, "male", "female"),
  strata = paste0("ecog", lung_ok$ph.ecog),
  karno = lung_ok$ph.karno, age = lung_ok$age
)
lung_df <- lung_df[!is.na(lung_df$karno), ]
colon_death <- colon[colon$etype == 2 & colon$rx %in% c("Obs", "Lev+5FU"), ]
colon_df <- data.frame(
  time = colon_death$time, event = colon_death$status,
  group = ifelse(colon_death$rx == "Obs", "Obs", "Lev5FU"),
  strata = paste0("node4_", colon_death$node4),
  karno = colon_death$nodes, age = colon_death$age
)
colon_df <- colon_df[!is.na(colon_df$karno), ]
# Tiny data: arm A drops to exactly 0.75, 0.5, 0.25, 0 (every quartile falls on a flat step, so
# R uses the midpoint rule); arm B has tied events (2, 2) and an event tied with a censoring (5).
flat_df <- data.frame(
  time = c(1, 2, 3, 4, 2, 2, 3, 5, 5, 7, 4),
  event = c(1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0),
  group = c(rep("A", 4), rep("B", 7)),
  strata = c("s1", "s2", "s1", "s2", "s1", "s2", "s1", "s2", "s1", "s2", "s2"),
  karno = c(3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 8), age = 0
)

datasets <- list(
  veteran = list(df = veteran_df, reference = "standard", times = c(0, 30, 90, 180, 365, 1000)),
  lung = list(df = lung_df, reference = "male", times = c(0, 100, 200, 365, 730, 1100)),
  colon = list(df = colon_df, reference = "Obs", times = c(0, 365, 730, 1825, 3000, 4000)),
  flat = list(df = flat_df, reference = "B", times = c(0, 1, 2, 2.5, 5, 10))
)

num <- function(x) {
  # JSON has no Inf/NaN: keep them as strings the tests can read back.
  x <- as.numeric(x)
  out <- as.list(x)
  out[is.na(x)] <- list("NA")
  out[is.infinite(x) & x > 0] <- list("Inf")
  out[is.infinite(x) & x < 0] <- list("-Inf")
  out
}

km_ref <- function(df, conf_type, times) {
  fit <- survfit(Surv(time, event) ~ group, data = df, conf.type = conf_type)
  q <- quantile(fit, probs = c(0.25, 0.5, 0.75))
  groups <- list()
  levels <- sub("^group=", "", names(fit$strata))
  for (i in seq_along(levels)) {
    f <- fit[i]
    s <- summary(fit[i], times = times, extend = TRUE)
    groups[[levels[i]]] <- list(
      time = num(f$time), n_risk = num(f$n.risk), n_event = num(f$n.event),
      n_censor = num(f$n.censor), surv = num(f$surv), std_err_cumhaz = num(f$std.err),
      lower = num(f$lower), upper = num(f$upper),
      quantile = num(q$quantile[i, ]), quantile_lower = num(q$lower[i, ]),
      quantile_upper = num(q$upper[i, ]),
      risk_times = num(times), n_risk_at = num(s$n.risk)
    )
  }
  groups
}

# Newton-Raphson run to full convergence (R's default stops at a relative log-likelihood change
# of 1e-9), so that the reference is the maximum-likelihood estimate itself, not R's last iterate.
ctrl <- coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 50)

cox_ref <- function(formula, df, ties) {
  fit <- coxph(formula, data = df, ties = ties, control = ctrl)
  ci <- exp(confint(fit))
  list(
    coef = num(coef(fit)), se = num(sqrt(diag(vcov(fit)))), hr = num(exp(coef(fit))),
    hr_lower = num(ci[, 1]), hr_upper = num(ci[, 2]),
    z_p = num(summary(fit)$coefficients[, "Pr(>|z|)"]),
    loglik = num(fit$loglik), wald = unname(fit$wald.test), lrt = unname(2 * diff(fit$loglik)),
    score = unname(fit$score), df = length(coef(fit))
  )
}

ref <- list(survival_version = as.character(packageVersion("survival")),
            r_version = R.version.string)
for (name in names(datasets)) {
  d <- datasets[[name]]
  df <- d$df
  write.csv(df, file.path(data_dir, paste0(name, ".csv")), row.names = FALSE)
  df$group <- relevel(factor(df$group), ref = d$reference)
  lr <- survdiff(Surv(time, event) ~ group, data = df)
  slr <- survdiff(Surv(time, event) ~ group + strata(strata), data = df)
  entry <- list(
    reference = d$reference,
    km = list(
      "log-log" = km_ref(df, "log-log", d$times),
      "log" = km_ref(df, "log", d$times),
      "plain" = km_ref(df, "plain", d$times)
    ),
    logrank = list(chisq = lr$chisq, df = length(lr$n) - 1,
                   p = pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE),
                   observed = num(lr$obs), expected = num(lr$exp)),
    stratified_logrank = list(chisq = slr$chisq, df = 1,
                              p = pchisq(slr$chisq, 1, lower.tail = FALSE)),
    cox = list(), stratified_cox = list(), cox_multi = list()
  )
  for (ties in c("efron", "breslow")) {
    entry$cox[[ties]] <- cox_ref(Surv(time, event) ~ group, df, ties)
    entry$stratified_cox[[ties]] <- cox_ref(Surv(time, event) ~ group + strata(strata), df, ties)
    if (name != "flat") {
      entry$cox_multi[[ties]] <- cox_ref(Surv(time, event) ~ group + karno + age, df, ties)
    }
  }
  ref[[name]] <- entry
}
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = FALSE), out_file)
cat("wrote", out_file, "\n")
