# Reference values for tests/safety/test_dsmb.py: the time to the first grade 3+ adverse event
# by arm (Kaplan-Meier) with R survival. Run: Rscript tests/safety/reference/dsmb_reference.R
# It writes dsmb_reference.json beside this script.
library(survival)
library(jsonlite)
arms <- list(
  A = data.frame(time = c(10, 20, 20, 35, 50, 60, 80, 90), event = c(1, 1, 0, 1, 0, 1, 0, 1)),
  B = data.frame(time = c(15, 30, 45, 45, 70, 100), event = c(0, 1, 0, 1, 0, 0))
)
out <- lapply(arms, function(d) {
  fit <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log")
  med <- unname(summary(fit)$table["median"])
  list(
    time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, survival = fit$surv,
    std_err = ifelse(is.finite(fit$std.err), fit$std.err, NA), median = med
  )
})
script_dir <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
write_json(out, file.path(script_dir, "dsmb_reference.json"), digits = 10, auto_unbox = TRUE, na = "null",
           pretty = TRUE)
