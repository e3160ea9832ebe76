# Reference operating characteristics of SOR-like trials from rpact's getSimulationSurvival.
# Produces rpact_simulation.json next to this file; tests/simulate/test_rpact_agreement.py
# compares trialkit's simulation with these values within Monte Carlo error.
#
#   Rscript tests/simulate/reference/rpact_simulation.R      (R 4.2.2, rpact 3.3.4, jsonlite)
#
# rpact's simulation model: patient i enters when the cumulative accrual reaches i (a fixed
# grid; trialkit --entry fixed), arms alternate 1,2,1,2 (trialkit permuted blocks of 4 give
# the same arm sizes), the analysis is at the calendar time of the plannedEvents-th event,
# one-sided log-rank; group 1 = treatment (sorafenib), directionUpper = FALSE tests HR < 1.
# hazardRatioEstimateLR = exp(-2 z / sqrt(D)) is rpact's log-rank estimate of the HR.
suppressMessages(library(rpact))
library(jsonlite)

iterations <- 100000
accrual <- 15.708031897006684 # trialkit: implied SOR accrual (design claims), months
decision_hr <- 0.82

summarise <- function(sim, scenario) {
  raw <- getData(sim)
  k_max <- max(raw$stageNumber)
  last <- raw[raw$trialStop, ] # the analysis at which each trial ends
  stopifnot(nrow(last) == iterations)
  per_stage <- lapply(seq_len(k_max), function(k) {
    at <- raw[raw$stageNumber == k, ]
    list(
      stage = k,
      reached = nrow(at),
      reject = sum(at$rejectPerStage) / iterations,
      mean_analysis_time = mean(at$analysisTime),
      sd_analysis_time = sd(at$analysisTime),
      mean_events = mean(at$eventsPerStage)
    )
  })
  final <- raw[raw$stageNumber == k_max, ]
  c(scenario, list(
    iterations = iterations,
    overall_reject = sum(last$rejectPerStage) / iterations,
    mean_analysis_time = mean(last$analysisTime),
    sd_analysis_time = sd(last$analysisTime),
    mean_events = mean(last$eventsPerStage),
    # the decision rule on rpact's log-rank HR estimate, at the final analysis
    decision_lr_reject = if (k_max == 1) mean(final$hazardRatioEstimateLR <= decision_hr) else NA,
    stages = per_stage
  ))
}

fixed <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
of3 <- getDesignGroupSequential(
  kMax = 3, alpha = 0.025, sided = 1, informationRates = c(0.5, 0.75, 1), typeOfDesign = "asOF"
)
p3 <- getDesignGroupSequential(
  kMax = 3, alpha = 0.025, sided = 1, informationRates = c(0.5, 0.75, 1), typeOfDesign = "asP"
)
out <- list()
run <- function(name, design, scenario, ...) {
  set.seed(1)
  sim <- getSimulationSurvival(design, directionUpper = FALSE, maxNumberOfSubjects = 220,
    maxNumberOfIterations = iterations, seed = 20240601, ...)
  out[[name]] <<- summarise(sim, scenario)
}

run("sor_h1", fixed, list(median_control = 7.9, median_treatment = 12.2, alpha = 0.025),
  median1 = 12.2, median2 = 7.9, accrualTime = c(0, accrual), plannedEvents = 120)
run("sor_h0", fixed, list(median_control = 7.9, median_treatment = 7.9, alpha = 0.025),
  median1 = 7.9, median2 = 7.9, accrualTime = c(0, accrual), plannedEvents = 120)
run("sor_dropout", fixed,
  list(median_control = 7.9, median_treatment = 12.2, alpha = 0.025, dropout_rate = 0.2,
    dropout_time = 12),
  median1 = 12.2, median2 = 7.9, accrualTime = c(0, accrual), plannedEvents = 120,
  dropoutRate1 = 0.2, dropoutRate2 = 0.2, dropoutTime = 12)
run("sor_gs_obf", of3,
  list(median_control = 7.9, median_treatment = 12.2, alpha = 0.025,
    information_rates = c(0.5, 0.75, 1), spending = "obrien-fleming",
    critical_z = of3$criticalValues),
  median1 = 12.2, median2 = 7.9, accrualTime = c(0, accrual), plannedEvents = c(60, 90, 120))
run("sor_gs_pocock_h0", p3,
  list(median_control = 7.9, median_treatment = 7.9, alpha = 0.025,
    information_rates = c(0.5, 0.75, 1), spending = "pocock", critical_z = p3$criticalValues),
  median1 = 7.9, median2 = 7.9, accrualTime = c(0, accrual), plannedEvents = c(60, 90, 120))
run("piecewise", fixed,
  list(hazards_control = c(0.1, 0.05), pfs_breaks = 6, hr = 0.7, accrual_rates = c(10, 20),
    accrual_breaks = 6, alpha = 0.025),
  piecewiseSurvivalTime = c(0, 6), lambda2 = c(0.1, 0.05), hazardRatio = 0.7,
  accrualTime = c(0, 6), accrualIntensity = c(10, 20), plannedEvents = 120)

info <- list(R = R.version.string, rpact = as.character(packageVersion("rpact")),
  date = as.character(Sys.Date()), accrual_time = accrual, decision_hr = decision_hr)
write_json(list(info = info, scenarios = out),
  file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))),
    "rpact_simulation.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
