-- Mart recommendations: the top 5 products for each user, from item-based collaborative
-- filtering with a bounded model, so that the job's cost grows linearly with the events.
-- 1. History: each user's carted or bought products, capped to the most recent
--    `history` of them (a job parameter, jobs/marts.ts).
-- 2. Similarity: two products are alike when the same users took both, normalised for
--    popularity so that a best-seller everyone buys is not everyone's neighbour — by default
--    cosine (users of both / sqrt(users of one × users of the other)); `similarity` chooses
--    another (jobs/marts.ts). Each product keeps only its `neighbours` most similar products
--    (a job parameter).
-- 3. Candidates: the neighbours of the user's recent products, scored by their similarities
--    summed; the top 5 kept, reason 'bought together with your items'.
-- 4. Cold start: only for a user that leaves with fewer than 5, the best-sellers of the user's
--    favourite category fill the rest, after every neighbour, reason 'popular in <category>'.
-- Never a product the user already carted or bought, never one out of stock, never one
-- missing from the products topic (forbidden ones never reach it). Published to topic
-- `recommendations`.
with interactions as (
  select e.user_id, e.product_id, max(e.at) as last_at
  from user_events e
  where e.type in ('add_to_cart', 'purchase')
  group by e.user_id, e.product_id
),
recent as (
  select user_id, product_id
  from (
    select
      user_id, product_id,
      row_number() over (partition by user_id order by last_at desc, product_id) as recency
    from interactions
  ) ranked
  where recency <= {{history}}
),
takers as (
  select product_id, cast(count(*) as double) as users from recent group by product_id
),
pairs as (
  select a.product_id as a, b.product_id as b, cast(count(*) as double) as users
  from recent a
  join recent b on a.user_id = b.user_id and a.product_id <> b.product_id
  group by a.product_id, b.product_id
),
neighbours as (
  select a, b, similarity
  from (
    select
      p.a, p.b, {{similarity}} as similarity,
      row_number() over (
        partition by p.a order by {{similarity}} desc, p.b
      ) as nearness
    from pairs p
    join takers ta on ta.product_id = p.a
    join takers tb on tb.product_id = p.b
  ) ranked
  where nearness <= {{neighbours}}
),
available as (
  select product_id, category from products_current where stock_available > 0
),
together as (
  select r.user_id, n.b as product_id, round(sum(n.similarity), 6) as score
  from recent r
  join neighbours n on n.a = r.product_id
  group by r.user_id, n.b
),
together_top as (
  select user_id, product_id, score, rec_rank
  from (
    select
      t.user_id, t.product_id, t.score,
      row_number() over (partition by t.user_id order by t.score desc, t.product_id) as rec_rank
    from together t
    join available av on av.product_id = t.product_id
    left join interactions i on i.user_id = t.user_id and i.product_id = t.product_id
    where i.product_id is null
  ) ranked
  where rec_rank <= 5
),
affinity as (
  select user_id, category
  from (
    select
      e.user_id, p.category,
      row_number() over (partition by e.user_id order by count(*) desc, p.category) as affinity_rank
    from user_events e
    join products_current p on p.product_id = e.product_id
    group by e.user_id, p.category
  ) ranked
  where affinity_rank = 1
),
best_sellers as (
  select product_id, category, round(purchases / top, 6) as share
  from (
    select
      s.product_id, av.category, s.purchases,
      max(s.purchases) over (partition by av.category) as top,
      row_number() over (partition by av.category order by s.purchases desc, s.product_id) as sales_rank
    from (
      select e.product_id, cast(count(*) as double) as purchases
      from user_events e
      where e.type = 'purchase'
      group by e.product_id
    ) s
    join available av on av.product_id = s.product_id
  ) ranked
  where sales_rank <= {{history}} + 5
),
filled as (
  select user_id, count(*) as recs from together_top group by user_id
),
short as (
  select a.user_id, a.category, coalesce(f.recs, 0) as recs
  from affinity a
  left join filled f on f.user_id = a.user_id
  where coalesce(f.recs, 0) < 5
),
fallback as (
  select
    s.user_id, b.product_id, b.share as score, b.category,
    s.recs + row_number() over (
      partition by s.user_id order by b.share desc, b.product_id
    ) as rec_rank
  from short s
  join best_sellers b on b.category = s.category
  left join interactions i on i.user_id = s.user_id and i.product_id = b.product_id
  left join together_top t on t.user_id = s.user_id and t.product_id = b.product_id
  where i.product_id is null and t.product_id is null
)
select
  user_id,
  cast(rec_rank as int) as rec_rank,
  product_id,
  score,
  'bought together with your items' as reason
from together_top
union all
select
  user_id,
  cast(rec_rank as int) as rec_rank,
  product_id,
  score,
  concat('popular in ', category) as reason
from fallback
where rec_rank <= 5
