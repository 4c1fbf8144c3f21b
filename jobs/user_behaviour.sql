-- Mart user_behaviour, per user: sessions, events, how far down the funnel the user got
-- (view → add_to_cart → purchase), the category the user looks at most, and an RFM segment
-- (recency, frequency, monetary, each scored 1–3 by tercile across users). Who to win back,
-- who to reward.
with e as (
  select u.user_id, u.session_id, u.type, u.at as event_at, u.quantity, u.price, p.category
  from user_events u
  left join products_current p on p.product_id = u.product_id
),
per_user as (
  select
    user_id,
    cast(count(*) as bigint) as events,
    cast(count(distinct session_id) as bigint) as sessions,
    cast(sum(case when type = 'view' then 1 else 0 end) as bigint) as views,
    cast(sum(case when type = 'add_to_cart' then 1 else 0 end) as bigint) as carts,
    cast(sum(case when type = 'purchase' then 1 else 0 end) as bigint) as purchases,
    round(sum(case when type = 'purchase' then quantity * price else 0.0 end), 2) as monetary,
    max(case type when 'purchase' then 3 when 'add_to_cart' then 2 when 'view' then 1 else 0 end)
      as stage,
    min(event_at) as first_at,
    max(event_at) as last_at
  from e
  group by user_id
),
affinity as (
  select user_id, category
  from (
    select
      user_id, category,
      row_number() over (partition by user_id order by count(*) desc, category) as affinity_rank
    from e
    where category is not null
    group by user_id, category
  ) ranked
  where affinity_rank = 1
),
rfm as (
  select
    user_id,
    ntile(3) over (order by last_at, user_id) as r,
    ntile(3) over (order by purchases, user_id) as f,
    ntile(3) over (order by monetary, user_id) as m
  from per_user
)
select
  u.user_id,
  u.sessions,
  u.events,
  u.views,
  u.carts,
  u.purchases,
  u.monetary,
  case u.stage when 3 then 'purchase' when 2 then 'add_to_cart' when 1 then 'view' else 'none' end
    as funnel_stage,
  a.category as top_category,
  u.first_at,
  u.last_at,
  cast(rfm.r as int) as recency_score,
  cast(rfm.f as int) as frequency_score,
  cast(rfm.m as int) as monetary_score,
  case
    when u.purchases = 0 then 'browser'
    when rfm.r = 3 and rfm.f = 3 then 'champion'
    when rfm.r = 1 then 'at_risk'
    else 'regular'
  end as segment
from per_user u
join rfm on rfm.user_id = u.user_id
left join affinity a on a.user_id = u.user_id
