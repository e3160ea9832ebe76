# Reference values for the report statistics (tests/analysis/test_proportions.py,
# tests/analysis/test_subgroups.py): binomial proportions, differences of proportions, and
# subgroup hazard ratios with the likelihood-ratio test of the arm x subgroup interaction.
#
# Run from the repository root (after survival_reference.R has written tests/analysis/data/):
#   Rscript tests/analysis/reference/report_reference.R
# It writes tests/analysis/reference/report_reference.json. CI has no R; the tests compare
# against the committed JSON at 1e-6 relative.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

out_file <- "tests/analysis/reference/report_reference.json"

# --- Clopper-Pearson: binom.test's exact interval -----------------------------------------------
props <- list(c(0, 10), c(10, 10), c(3, 17), c(27, 110), c(45, 110), c(1, 1), c(56, 70),
              c(48, 80), c(0, 1), c(7, 220))
proportion <- lapply(props, function(p) {
  ci <- binom.test(p[1], p[2], conf.level = 0.95)$conf.int
  list(x = p[1], n = p[2], estimate = p[1] / p[2], lower = ci[1], upper = ci[2])
})

# --- Newcombe's hybrid score interval for p1 - p2 (Newcombe 1998, method 10) ------------------
# Wilson score limits are prop.test's interval without continuity correction.
wilson <- function(x, n) {
  if (x == 0) return(c(0, prop.test(x, n, correct = FALSE)$conf.int[2]))
  if (x == n) return(c(prop.test(x, n, correct = FALSE)$conf.int[1], 1))
  prop.test(x, n, correct = FALSE)$conf.int[1:2]
}
newcombe <- function(x1, n1, x2, n2) {
  p1 <- x1 / n1; p2 <- x2 / n2
  w1 <- wilson(x1, n1); w2 <- wilson(x2, n2)
  d <- p1 - p2
  lower <- d - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2)
  upper <- d + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2)
  list(x1 = x1, n1 = n1, x2 = x2, n2 = n2, estimate = d, lower = lower, upper = upper)
}
pairs <- list(c(56, 70, 48, 80), c(9, 10, 3, 10), c(6, 7, 2, 7), c(5, 56, 0, 29),
              c(0, 10, 0, 20), c(10, 10, 0, 20), c(27, 110, 45, 110), c(5, 20, 5, 20))
difference <- lapply(pairs, function(p) newcombe(p[1], p[2], p[3], p[4]))

# --- Subgroups: HR per subgroup and the interaction LRT -----------------------------------------
subgroups <- list()
for (name in c("veteran", "lung", "colon")) {
  df <- read.csv(file.path("tests/analysis/data", paste0(name, ".csv")), stringsAsFactors = FALSE)
  ref <- switch(name, veteran = "standard", lung = "male", colon = "Obs")
  df$arm <- as.numeric(df$group != ref)
  # Subgroups of fewer than 10 patients (lung's one ECOG 3 patient) are left out: no HR there.
  counts <- table(df$strata)
  df <- df[df$strata %in% names(counts)[counts >= 10], ]
  df$sg <- factor(df$strata)
  levels_sg <- levels(df$sg)
  per <- lapply(levels_sg, function(lv) {
    sub <- df[df$sg == lv, ]
    fit <- coxph(Surv(time, event) ~ arm, data = sub, ties = "efron")
    s <- summary(fit)
    list(level = lv, n = nrow(sub), events = sum(sub$event),
         hr = unname(s$conf.int[1, "exp(coef)"]),
         lower = unname(s$conf.int[1, "lower .95"]),
         upper = unname(s$conf.int[1, "upper .95"]))
  })
  main <- coxph(Surv(time, event) ~ arm + sg, data = df, ties = "efron")
  inter <- coxph(Surv(time, event) ~ arm * sg, data = df, ties = "efron")
  a <- anova(main, inter)
  subgroups[[name]] <- list(
    reference = ref, levels = levels_sg, per_level = per,
    lrt = a$Chisq[2], df = a$Df[2], p = a[["Pr(>|Chi|)"]][2],
    loglik_main = main$loglik[2], loglik_interaction = inter$loglik[2]
  )
}

writeLines(
  toJSON(list(r_version = R.version.string,
              survival_version = as.character(packageVersion("survival")),
              proportion = proportion, difference = difference, subgroups = subgroups),
         auto_unbox = TRUE, digits = NA, pretty = TRUE),
  out_file
)
