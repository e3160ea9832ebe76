# Reference values for trialkit.design.sample_size and trialkit.design.boundaries.
# Produced with R and rpact (version recorded in the output); run from this folder:
#   Rscript rpact_sample_size.R   ->  rpact_sample_size.json
# Tests compare with the committed JSON and do not need R.
suppressPackageStartupMessages({
  library(rpact)
  library(jsonlite)
})

# Each scenario: the trialkit arguments and the matching rpact call.
scenarios <- list(
  list(id = "fixed_1to1_accrual_followup", alpha = 0.025, power = 0.8,
       median_control = 7.9, median_treatment = 12.2, allocation_ratio = 1,
       accrual_time = 18, follow_up_time = 6),
  list(id = "fixed_2to1_accrual_followup", alpha = 0.025, power = 0.8,
       median_control = 7.9, median_treatment = 12.2, allocation_ratio = 2,
       accrual_time = 18, follow_up_time = 6),
  list(id = "fixed_1to2_dropout", alpha = 0.025, power = 0.9,
       median_control = 6, median_treatment = 9, allocation_ratio = 0.5,
       accrual_time = 24, follow_up_time = 12, dropout_rate = 0.1, dropout_time = 12),
  list(id = "fixed_2to1_dropout_n_given", alpha = 0.025, power = 0.8,
       median_control = 7.9, median_treatment = 12.2, allocation_ratio = 2,
       accrual_time = 18, n = 300, dropout_rate = 0.1, dropout_time = 12),
  list(id = "fixed_events_before_end_of_accrual", alpha = 0.025, power = 0.8,
       median_control = 7.9, median_treatment = 12.2, allocation_ratio = 1,
       accrual_time = 18, n = 500),
  list(id = "freedman_2to1", alpha = 0.025, power = 0.8, method = "freedman",
       median_control = 7.9, median_treatment = 12.2, allocation_ratio = 2,
       accrual_time = 18, follow_up_time = 6),
  list(id = "freedman_1to1_dropout_n_given", alpha = 0.05, power = 0.9, method = "freedman",
       median_control = 10, median_treatment = 14, allocation_ratio = 1,
       accrual_time = 30, n = 700, dropout_rate = 0.05, dropout_time = 6),
  list(id = "fixed_alpha05_power90_hr075", alpha = 0.05, power = 0.9,
       median_control = 12, hr = 0.75, allocation_ratio = 1,
       accrual_time = 12, follow_up_time = 12),
  list(id = "fixed_sor_like_n220", alpha = 0.025, power = 0.8,
       median_control = 7.9, median_treatment = 12.2, allocation_ratio = 1,
       accrual_time = 31.24, n = 220),
  list(id = "gs_of_3_stages", alpha = 0.025, power = 0.8,
       median_control = 7.9, median_treatment = 12.2, allocation_ratio = 1,
       accrual_time = 18, follow_up_time = 6,
       information_rates = c(0.5, 0.75, 1), spending = "obrien-fleming"),
  list(id = "gs_pocock_2to1_dropout_n_given", alpha = 0.025, power = 0.9,
       median_control = 6, median_treatment = 9, allocation_ratio = 2,
       accrual_time = 24, n = 450, dropout_rate = 0.1, dropout_time = 12,
       information_rates = c(0.4, 0.7, 1), spending = "pocock"),
  list(id = "gs_of_beta_spending", alpha = 0.025, power = 0.9,
       median_control = 7.9, median_treatment = 12.2, allocation_ratio = 1,
       accrual_time = 20, follow_up_time = 8,
       information_rates = c(0.33, 0.67, 1), spending = "obrien-fleming",
       beta_spending = "obrien-fleming")
)

type_of_design <- c("obrien-fleming" = "asOF", "pocock" = "asP")
type_beta <- c("obrien-fleming" = "bsOF", "pocock" = "bsP")
or_na <- function(x) if (is.null(x)) NA_real_ else x

run_sample_size <- function(s) {
  rates <- if (is.null(s$information_rates)) 1 else s$information_rates
  design <- if (length(rates) == 1) {
    getDesignGroupSequential(kMax = 1, alpha = s$alpha, beta = 1 - s$power, sided = 1)
  } else if (is.null(s$beta_spending)) {
    getDesignGroupSequential(alpha = s$alpha, beta = 1 - s$power, sided = 1,
                             informationRates = rates,
                             typeOfDesign = type_of_design[[s$spending]])
  } else {
    getDesignGroupSequential(alpha = s$alpha, beta = 1 - s$power, sided = 1,
                             informationRates = rates,
                             typeOfDesign = type_of_design[[s$spending]],
                             typeBetaSpending = type_beta[[s$beta_spending]],
                             bindingFutility = FALSE)
  }
  args <- list(design = design,
               typeOfComputation = if (is.null(s$method)) "Schoenfeld" else "Freedman",
               allocationRatioPlanned = s$allocation_ratio,
               accrualTime = c(0, s$accrual_time))
  if (is.null(s$hr)) {
    args$median2 <- s$median_control
    args$median1 <- s$median_treatment
  } else {
    args$lambda2 <- log(2) / s$median_control
    args$hazardRatio <- s$hr
  }
  if (!is.null(s$n)) args$maxNumberOfSubjects <- s$n
  if (!is.null(s$follow_up_time)) args$followUpTime <- s$follow_up_time
  if (!is.null(s$dropout_rate)) {
    args$dropoutRate1 <- s$dropout_rate
    args$dropoutRate2 <- s$dropout_rate
    args$dropoutTime <- s$dropout_time
  }
  x <- suppressWarnings(do.call(getSampleSizeSurvival, args))
  list(
    input = s,
    events = x$maxNumberOfEvents,
    events_per_stage = as.numeric(x$eventsPerStage),
    n = x$maxNumberOfSubjects,
    follow_up_time = x$followUpTime,
    analysis_time = as.numeric(x$analysisTime),
    critical_hr = as.numeric(x$criticalValuesEffectScale),
    futility_hr = if (is.null(s$beta_spending)) NULL else as.numeric(x$futilityBoundsEffectScale)
  )
}

boundary_scenarios <- list(
  list(id = "of_3", alpha = 0.025, power = 0.8, information_rates = c(0.5, 0.75, 1),
       spending = "obrien-fleming"),
  list(id = "pocock_3", alpha = 0.025, power = 0.8, information_rates = c(0.5, 0.75, 1),
       spending = "pocock"),
  list(id = "of_5_alpha05", alpha = 0.05, power = 0.9, information_rates = c(0.2, 0.4, 0.6, 0.8, 1),
       spending = "obrien-fleming"),
  list(id = "pocock_4_uneven", alpha = 0.01, power = 0.85, information_rates = c(0.1, 0.3, 0.65, 1),
       spending = "pocock"),
  list(id = "of_of_beta", alpha = 0.025, power = 0.9, information_rates = c(0.33, 0.67, 1),
       spending = "obrien-fleming", beta_spending = "obrien-fleming"),
  list(id = "pocock_pocock_beta", alpha = 0.025, power = 0.8, information_rates = c(0.25, 0.5, 0.75, 1),
       spending = "pocock", beta_spending = "pocock"),
  list(id = "of_pocock_beta_2", alpha = 0.05, power = 0.8, information_rates = c(0.6, 1),
       spending = "obrien-fleming", beta_spending = "pocock")
)

run_boundaries <- function(s) {
  args <- list(alpha = s$alpha, beta = 1 - s$power, sided = 1,
               informationRates = s$information_rates,
               typeOfDesign = type_of_design[[s$spending]])
  if (!is.null(s$beta_spending)) {
    args$typeBetaSpending <- type_beta[[s$beta_spending]]
    args$bindingFutility <- FALSE
  }
  d <- do.call(getDesignGroupSequential, args)
  ch <- getDesignCharacteristics(d)
  list(
    input = s,
    z = as.numeric(d$criticalValues),
    nominal_p = as.numeric(d$stageLevels),
    cumulative_alpha_spent = as.numeric(d$alphaSpent),
    futility_z = if (is.null(s$beta_spending)) NULL else as.numeric(d$futilityBounds),
    cumulative_beta_spent = if (is.null(s$beta_spending)) NULL else as.numeric(d$betaSpent),
    inflation_factor = ch$inflationFactor,
    drift = sqrt(ch$shift)
  )
}

out <- list(
  rpact_version = as.character(packageVersion("rpact")),
  r_version = R.version.string,
  sample_size = lapply(scenarios, run_sample_size),
  boundaries = lapply(boundary_scenarios, run_boundaries)
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           "rpact_sample_size.json")
