/**
 * The marketplace analytics platform «Покупай выгодно» (the course's final project): its
 * declared topology and one module per service — SHOP API, product filter, forbidden list,
 * CLIENT API, mirror, lake and analytics.
 * @module
 */
export * from "./topology.ts";
export * from "./setup.ts";
export * from "./forbidden.ts";
export * from "./products_sink.ts";
export * from "./filter.ts";
export * from "./lake.ts";
export * from "./activity_gen.ts";
export * from "./catalog.ts";
export * from "./store_keys.ts";
export * from "./shop_api.ts";
export * from "./recommendations.ts";
export * from "./client_api.ts";
export * from "./users_sim.ts";
export * from "./publish.ts";
export * from "./stages.ts";
export * from "./marts.ts";
export * from "./notebooks.ts";
export * from "./dashboard.ts";
export * from "./platform.ts";
export * from "./platform_config.ts";
export * from "./platform_check.ts";
