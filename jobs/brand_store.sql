-- Mart brand_store, per brand and store over the whole lake: which brands sell in which
-- stores, and for how much. The roll-up the category managers negotiate with.
select
  brand,
  store_id,
  cast(count(distinct product_id) as bigint) as products,
  cast(sum(views) as bigint) as views,
  cast(sum(purchases) as bigint) as purchases,
  cast(sum(units) as bigint) as units,
  round(sum(revenue), 2) as revenue
from product_stats
where brand is not null
group by brand, store_id
